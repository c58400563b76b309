"""Every command explains itself: `--help` exits 0 and shows examples."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import Cli

COMMANDS = [
    ("campaign", "create"),
    ("run",),
    ("serve",),
    ("simulate",),
    ("demo",),
    ("leads",),
    ("tune",),
    ("sync",),
    ("alerts",),
    ("crm", "setup"),
    ("crm", "sync"),
    ("report",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_examples(cli: Cli, command: tuple[str, ...]) -> None:
    proc = cli(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Examples" in proc.stdout or "Example" in proc.stdout, proc.stdout
    assert f"oie {' '.join(command)}" in proc.stdout, proc.stdout


def test_unknown_option_is_one_clear_error(cli: Cli) -> None:
    proc = cli("run", "--no-such-option")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr


def test_the_cli_starts_without_the_chart_libraries() -> None:
    # altair and vl-convert take ≈ 0.2 s to import: only `oie report` (and the demo's
    # report) may pay it, never a scheduled `oie run` or any other command.
    probe = (
        "import sys, oie.cli; "
        "print(sorted(m for m in ('altair', 'vl_convert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
