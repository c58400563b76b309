"""What the tests hand to the processes they start: none of the runner's own OIE_
settings, and the suite's dbt parse cache (set once for the whole run, workers included)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oie.dbt_parse_cache import CACHE_ENV
from tests.python.helpers.environment import inherited_env


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
