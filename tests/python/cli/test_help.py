"""Every command explains itself: `--help` exits 0 and shows examples."""

from __future__ import annotations

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
