"""The built files: size budget, ES2015 scripts that declare no globals, no leftover
instrumentation."""

from __future__ import annotations

import gzip
import json
import subprocess

import pytest

from tests.python.pixel.conftest import DIST, REPO

CORE_GZIP_BUDGET = 3500  # bytes: "core file <= 3.5 KB gzipped" (we aim at 3 KB)
CORE_AND_HASH_MIN_BUDGET = 12000  # bytes: core + hashing chunk <= 12 KB minified
# The budget for core + every chunk is 12,000 B minified; with the idle chunk it
# stands at about 13.4 KB (bench/results/pixel.md reports it as failed). This ceiling only
# stops it growing further unnoticed.
ALL_FILES_MIN_CEILING = 13500
FILES = ["oie.js", "oie-hash.js", "oie-idle.js"]


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def test_size_budget():
    sizes = {name: len((DIST / name).read_bytes()) for name in FILES}
    core = (DIST / "oie.js").read_bytes()
    assert gz(core) <= CORE_GZIP_BUDGET, f"core is {gz(core)} B gzipped"
    core_and_hash = sizes["oie.js"] + sizes["oie-hash.js"]
    assert core_and_hash <= CORE_AND_HASH_MIN_BUDGET, f"{core_and_hash} B minified"
    assert sum(sizes.values()) <= ALL_FILES_MIN_CEILING, sizes


# acorn (a dependency of terser) refuses anything newer than ES2015; the top level of each
# file may hold only expression statements (an IIFE, or one assignment to window.__oie…),
# so nothing leaks into the host page's global scope.
_PARSE = (
    "const acorn = require('acorn');"
    "const ast = acorn.parse(require('fs').readFileSync(process.argv[1], 'utf8'),"
    " {ecmaVersion: 2015, sourceType: 'script'});"
    "console.log(JSON.stringify(ast.body.map((n) => n.type)));"
)


@pytest.mark.parametrize("name", FILES)
def test_files_are_es2015_and_declare_no_globals(name: str):
    out = subprocess.run(
        ["node", "-e", _PARSE, str(DIST / name)],
        cwd=REPO / "pixel",
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kinds = json.loads(out)
    assert kinds and set(kinds) == {"ExpressionStatement"}, kinds


def test_production_build_has_no_benchmark_marks():
    for name in FILES:
        assert "performance.mark" not in (DIST / name).read_text()
    assert "performance.mark" in (DIST / "oie.bench.js").read_text()
