"""The environment of the suite: none of the runner's own settings reaches a test, and what
the tests hand to the processes they start has none of the OIE_ settings a test set for
itself, but the suite's dbt parse cache (set once for the whole run, workers included)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oie import warehouse
from oie.dbt_parse_cache import CACHE_ENV
from oie_core.settings import Settings
from tests.python.helpers.environment import inherited_env, is_caller_setting
from tests.python.helpers.servers import REPO


def test_children_get_no_oie_setting_but_the_parse_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIE_TARGET", "bigquery")
    monkeypatch.setenv("OIE_TOKEN_SECRET", "the runner's own")
    monkeypatch.setenv(CACHE_ENV, "/somewhere/parse-cache")
    env = inherited_env()
    assert "OIE_TARGET" not in env and "OIE_TOKEN_SECRET" not in env
    assert env[CACHE_ENV] == "/somewhere/parse-cache"
    assert env["PATH"] == os.environ["PATH"]


def test_the_suite_shares_one_parse_cache_folder() -> None:
    assert Path(os.environ[CACHE_ENV]).is_dir()


# What a dbt, Cloudflare or Google Cloud user may well have exported in their shell.
RUNNER_SETTINGS = {
    "DBT_LOG_LEVEL_FILE": "info",
    "DBT_TARGET_PATH": "/nonexistent/dbt-target",
    "OIE_TARGET": "bigquery",
    "CLOUDFLARE_API_TOKEN": "the runner's own token",
    "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json",
    "THREADS": "1",
}


def test_no_setting_of_the_runner_reaches_a_test(tmp_path: Path) -> None:
    """Any run of the suite; and the test below runs it with RUNNER_SETTINGS exported."""
    assert [name for name in os.environ if is_caller_setting(name)] == []
    # What they would have changed: dbt's folders and file log, and the KV store `oie` picks.
    env = warehouse.dbt_env({"OIE_DATA_DIR": str(tmp_path)})
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "dbt" / "target")
    assert "DBT_LOG_LEVEL_FILE" not in env
    assert Settings.from_env().kv == "local"
    # The suite's own knobs pass.
    assert os.environ.get("OIE_TEST_ARTIFACTS") == os.environ.get("EXPECT_TEST_ARTIFACTS")


def test_a_runner_with_dbt_cloud_and_oie_settings_exported_gets_the_same_suite(
    tmp_path: Path,
) -> None:
    artifacts = str(tmp_path / "artifacts")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            f"{__file__}::test_no_setting_of_the_runner_reaches_a_test",
        ],
        cwd=REPO,
        env={
            **os.environ,
            **RUNNER_SETTINGS,
            "OIE_TEST_ARTIFACTS": artifacts,
            "EXPECT_TEST_ARTIFACTS": artifacts,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    # Said at the top of the run, not silently.
    assert "ignored the runner's own settings: " + ", ".join(sorted(RUNNER_SETTINGS)) in proc.stdout
