"""The built Worker is what its source builds to, typechecks, and is deployable as
wrangler.toml.example describes it."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from tests.python.worker.support import PIXEL, WORKER_DIR, WORKER_JS, node, require_worker_build


def test_dist_is_what_the_source_builds_to(tmp_path: Path) -> None:
    require_worker_build()
    fresh = tmp_path / "worker.js"
    proc = subprocess.run(
        [node(), "worker/build.mjs", "--out", str(fresh)],
        cwd=PIXEL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert fresh.read_text() == WORKER_JS.read_text(), (
        "pixel/worker/dist/worker.js is older than pixel/worker/src: cd pixel && npm run build"
    )


def test_one_es_module_without_imports() -> None:
    require_worker_build()
    text = WORKER_JS.read_text()
    assert re.search(r"^export \{\s*\w+ as default\s*\};?\s*$", text, re.M), text[-200:]
    assert not re.search(r"^\s*import\b", text, re.M)
    assert "process.env" not in text and "require(" not in text


def test_the_worker_typechecks() -> None:
    node()
    tsc = PIXEL / "node_modules" / "typescript" / "bin" / "tsc"
    proc = subprocess.run(
        [node(), str(tsc), "--noEmit", "-p", "worker"],
        cwd=PIXEL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_wrangler_example_matches_the_worker() -> None:
    config = tomllib.loads((WORKER_DIR / "wrangler.toml.example").read_text())
    assert (WORKER_DIR / config["main"]).resolve() == WORKER_JS
    assert config["no_bundle"] is True
    assert [ns["binding"] for ns in config["kv_namespaces"]] == ["OIE_KV"]
    assert set(config["vars"]) == {"ALLOWED_ORIGINS"}
    assert all(r["pattern"].endswith("/personalize*") for r in config["routes"])
    src = (WORKER_DIR / "src" / "index.ts").read_text()
    assert "env.OIE_KV" in src and "env.ALLOWED_ORIGINS" in src
    # The date the harness (and so every test) runs the Worker with.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", config["compatibility_date"])
    assert "compatibility_date" in (WORKER_DIR / "test" / "harness.mjs").read_text()
