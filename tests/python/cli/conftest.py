"""Fixtures for the CLI tests: every command runs through the real `oie` entry point
(.venv/bin/oie) in a subprocess, with its own OIE_DATA_DIR under tmp_path."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.python.helpers.environment import inherited_env

REPO = Path(__file__).resolve().parents[3]
OIE = os.environ.get("OIE_TEST_BIN", str(REPO / ".venv" / "bin" / "oie"))
SECRET = "cli-test-secret-0123456789abcdef"


@dataclass
class Cli:
    env: dict[str, str]
    cwd: Path

    @property
    def data_dir(self) -> Path:
        return Path(self.env["OIE_DATA_DIR"])

    def __call__(
        self, *args: str, timeout: float = 300, check: bool | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.wrapped([], *args, timeout=timeout, check=check)

    def wrapped(
        self, prefix: list[str], *args: str, timeout: float = 300, check: bool | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*prefix, *OIE.split(), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        # No command may ever show a Python traceback, whatever the input.
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stdout, proc.stdout
        if check is True:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*OIE.split(), *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = inherited_env()
    env.update(
        {
            "OIE_DATA_DIR": str(data_dir),
            "OIE_TOKEN_SECRET": SECRET,
            "COLUMNS": "200",  # rich wraps at the terminal width: keep lines whole
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",  # dbt output reaches us line by line
            **extra,
        }
    )
    return env


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(cli_env(tmp_path / "data"), work)
