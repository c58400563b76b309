"""Every command docs/report.md and cli.md's `oie report` section show in a ```console
block runs, as written, through bash and the real `oie`, on the demo warehouse."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.python.kv.test_docs import console_blocks, section

from .conftest import Warehouses

REPO = Path(__file__).resolve().parents[3]


def shell(line: str, warehouses: Warehouses, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(warehouses.demo.env)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
    return proc


def serve_line(line: str, warehouses: Warehouses, cwd: Path) -> None:
    env = dict(warehouses.demo.env)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {line}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for out in proc.stdout:
            if found := re.search(r"(http://127\.0\.0\.1:\d+/)", out):
                break
        with urllib.request.urlopen(found.group(1), timeout=60) as response:
            assert response.status == 200 and b"Hot now" in response.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in rest, rest


def run_blocks(blocks: list[list[str]], warehouses: Warehouses, cwd: Path) -> list[str]:
    outputs = []
    for line in (line for block in blocks for line in block):
        assert line.split()[:2] == ["oie", "report"], line
        if "--serve" in line:
            serve_line(line, warehouses, cwd)
        else:
            outputs.append(shell(line, warehouses, cwd).stdout)
    return outputs


def test_report_md_commands_run(warehouses: Warehouses, tmp_path: Path) -> None:
    blocks = console_blocks((REPO / "docs" / "report.md").read_text())
    assert len(blocks) == 2
    outputs = run_blocks(blocks, warehouses, tmp_path)
    assert f"written to {warehouses.demo.data_dir / 'report.html'}" in outputs[0]
    assert "top 50 of" in outputs[1] and (tmp_path / "intent.html").is_file()
    assert "1 campaign(s)" in outputs[2] and (tmp_path / "fintech.html").is_file()


def test_cli_md_report_commands_run(warehouses: Warehouses, tmp_path: Path) -> None:
    text = section((REPO / "docs" / "cli.md").read_text(), "oie report")
    (block,) = console_blocks(text)
    outputs = run_blocks([block], warehouses, tmp_path)
    assert len(outputs) == 3 and (tmp_path / "fintech.html").is_file()


def test_readme_report_commands_run(warehouses: Warehouses, tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## See it: the intent report")
    (block,) = console_blocks(readme[start : readme.index("\n## ", start + 1)])
    outputs = run_blocks([block], warehouses, tmp_path)
    assert "top 50 of" in outputs[0] and (tmp_path / "intent.html").is_file()
