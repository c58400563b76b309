"""Every command docs/worker.md shows in a ```console block runs, as written, through bash:
the build and the typecheck (in a copy of pixel/, so the files other tests read are never
half-written), the harness, and the hand-run sync, key listing and request against it (the
page's fixed ports swapped for free ones)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from oie.stack import free_port
from tests.python.cli.conftest import cli_env
from tests.python.kv.support import lead_rows, write_edge_profiles
from tests.python.worker.support import PIXEL, REPO, first_line, node, require_worker_build, stop

DOC = REPO / "docs" / "worker.md"
PORTS = ("8787", "8788")  # the Worker's and the test API's, as the page writes them


def console_blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console"
            if inside:
                blocks.append([])
            continue
        if inside and line.strip():
            blocks[-1].append(line)
    return blocks


def shell(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
    return proc


def pixel_copy(root: Path) -> Path:
    """pixel/ without its outputs, beside the real node_modules."""
    copy = root / "pixel"
    ignore = shutil.ignore_patterns("node_modules", "dist")
    shutil.copytree(PIXEL, copy, ignore=ignore)
    (copy / "node_modules").symlink_to(PIXEL / "node_modules")
    return copy


def test_the_page_shows_three_blocks() -> None:
    build, harness, by_hand = console_blocks(DOC.read_text())
    assert [line.split()[:5] for line in build] == [["cd", "pixel", "&&", "npm", "run"]] * 2
    assert len(harness) == 1 and len(by_hand) == 3


def test_build_and_typecheck_commands_run(tmp_path: Path) -> None:
    require_worker_build()
    build, _, _ = console_blocks(DOC.read_text())
    copy = pixel_copy(tmp_path)
    env = {**os.environ, "PATH": f"{Path(node()).parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = [shell(line, tmp_path, env).stdout for line in build]
    assert "worker/dist/worker.js" in outputs[0]
    assert (copy / "dist" / "oie.js").is_file()
    assert (copy / "worker" / "dist" / "worker.js").read_text() == (
        PIXEL / "worker" / "dist" / "worker.js"
    ).read_text(), "pixel/worker/dist/worker.js is stale: cd pixel && npm run build"


def test_trying_it_by_hand_runs(tmp_path: Path) -> None:
    require_worker_build()
    _, (harness_line,), by_hand = console_blocks(DOC.read_text())
    ports = {old: str(free_port()) for old in PORTS}

    def local(line: str) -> str:
        for old, new in ports.items():
            line = line.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}").replace(
                f"--port {old}", f"--port {new}"
            )
            line = line.replace(f"--api-port {old}", f"--api-port {new}")
        return line

    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    rows = lead_rows(2)
    write_edge_profiles(data_dir, rows)
    env = cli_env(data_dir)
    for name in [n for n in env if n.startswith("CLOUDFLARE_")]:
        del env[name]
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    log_path = tmp_path / "harness.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["bash", "-c", local(harness_line)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        line = first_line(proc, 90)
        if line is None:
            pytest.fail(f"the harness did not start:\n{log_path.read_text()}")
        info = json.loads(line)
        assert info["worker"] == f"http://127.0.0.1:{ports['8787']}"
        assert info["api"] == f"http://127.0.0.1:{ports['8788']}/client/v4"

        sync, keys, get = (shell(local(cmd), work, env).stdout for cmd in by_hand)
        assert "state rebuilt from 0 key(s)" in sync and "pushed 4 key(s) (4 new" in sync, sync
        listed = json.loads(keys)
        assert listed["success"] is True
        assert sorted(k["name"] for k in listed["result"]) == [
            "v:visitor-000000",
            "v:visitor-000001",
        ]
        head, _, body = get.partition("\n\n")  # curl -i; text mode turned CRLF into LF
        status, *headers = head.splitlines()
        assert status.split()[1] == "200", get
        assert "access-control-allow-origin: http://127.0.0.1:8000" in [h.lower() for h in headers]
        assert json.loads(body) == json.loads(rows["v:visitor-000001"])
    finally:
        assert stop(proc) == 0, log_path.read_text()
