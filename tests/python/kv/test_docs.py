"""Every command docs/kv.md and cli.md's `oie sync` section show in a ```console block runs,
as written, through bash and the real `oie` (against the Cloudflare stand-in for the
Workers KV lines, whose account and namespace ids are the ones the page names)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.python.cli.conftest import cli_env
from tests.python.helpers.cf_standin import start_cf_standin
from tests.python.kv.support import lead_rows, state_rows, write_edge_profiles

REPO = Path(__file__).resolve().parents[3]
ACCOUNT = re.compile(r"CLOUDFLARE_ACCOUNT_ID=(\S+)")
NAMESPACE = re.compile(r"OIE_KV_NAMESPACE_ID=(\S+)")


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


def section(text: str, heading: str) -> str:
    start = text.index(f"## `{heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def shell(line: str, data_dir: Path, work: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(data_dir, **extra)
    for name in [n for n in env if n.startswith("CLOUDFLARE_") and n not in extra]:
        del env[name]
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    rows = lead_rows(20)
    write_edge_profiles(data_dir, rows)
    return data_dir, work, rows


def test_kv_md_commands_run(warehouse: tuple[Path, Path, dict[str, str]]) -> None:
    data_dir, work, rows = warehouse
    local, cloudflare = console_blocks((REPO / "docs" / "kv.md").read_text())
    for line in local + cloudflare:  # the page shows `oie` commands, nothing else
        words = [w for w in line.split("#")[0].split() if "=" not in w]
        assert words[0] == "oie", line
    outputs = [shell(line, data_dir, work).stdout for line in local]
    assert "would push 40 key(s)" in outputs[0]
    assert "pushed 40 key(s) (40 new" in outputs[1]
    assert "pushed 0 key(s)" in outputs[2] and "0 request(s)" in outputs[2]
    assert "state rebuilt from 40 key(s)" in outputs[4]
    assert "ok kv sync" in outputs[5]
    assert set(state_rows(data_dir, "local")) == set(rows)

    with start_cf_standin() as cf:
        cf.account = ACCOUNT.search(cloudflare[0]).group(1)  # type: ignore[union-attr]
        cf.namespace = NAMESPACE.search(cloudflare[0]).group(1)  # type: ignore[union-attr]
        secrets = {"CLOUDFLARE_API_TOKEN": cf.token, "CLOUDFLARE_BASE_URL": cf.base_url}
        dry, real = (shell(line, data_dir, work, **secrets).stdout for line in cloudflare)
        assert f"cloudflare:{cf.account}/{cf.namespace}: would push 40 key(s)" in dry
        assert "pushed 40 key(s) (40 new" in real
        assert cf.values() == rows


def test_cli_md_sync_commands_run(warehouse: tuple[Path, Path, dict[str, str]]) -> None:
    data_dir, work, rows = warehouse
    text = section((REPO / "docs" / "cli.md").read_text(), "oie sync")
    (block,) = console_blocks(text)
    assert [line.split()[:2] for line in block] == [["oie", "sync"]] * 3
    outputs = [shell(line, data_dir, work).stdout for line in block]
    assert "would push 40 key(s)" in outputs[0]
    assert "pushed 40 key(s)" in outputs[1]
    assert "state rebuilt from 40 key(s)" in outputs[2] and "pushed 0 key(s)" in outputs[2]
    assert set(state_rows(data_dir, "local")) == set(rows)
