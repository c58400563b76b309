"""The built files: size budget, one ES2015 IIFE each, no leftover instrumentation."""

from __future__ import annotations

import gzip
import subprocess

import pytest

from tests.python.pixel.conftest import DIST, REPO

CORE_GZIP_BUDGET = 3500  # bytes: "core file <= 3.5 KB gzipped" (we aim at 3 KB)
TOTAL_MIN_BUDGET = 12000  # bytes: core + hashing chunk <= 12 KB minified


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def test_size_budget():
    core = (DIST / "oie.js").read_bytes()
    chunk = (DIST / "oie-hash.js").read_bytes()
    assert gz(core) <= CORE_GZIP_BUDGET, f"core is {gz(core)} B gzipped"
    assert len(core) + len(chunk) <= TOTAL_MIN_BUDGET, f"{len(core) + len(chunk)} B minified"


@pytest.mark.parametrize("name", ["oie.js", "oie-hash.js"])
def test_files_are_es2015_iifes(name: str):
    src = (DIST / name).read_text()
    assert src.startswith("(()=>{") and src.rstrip().endswith("})();")
    # acorn (a dependency of terser) refuses anything newer than ES2015.
    script = (
        "const acorn = require('acorn');"
        "acorn.parse(require('fs').readFileSync(process.argv[1], 'utf8'),"
        " {ecmaVersion: 2015, sourceType: 'script'});"
    )
    subprocess.run(["node", "-e", script, str(DIST / name)], cwd=REPO / "pixel", check=True)


def test_production_build_has_no_benchmark_marks():
    assert "performance.mark" not in (DIST / "oie.js").read_text()
    assert "performance.mark" in (DIST / "oie.bench.js").read_text()
