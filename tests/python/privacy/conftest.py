"""The privacy tests run the real `oie` command on a folder of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.python.cli.conftest import Cli, cli_env


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(cli_env(tmp_path / "data"), work)
