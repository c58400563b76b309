"""How pytest-xdist spreads the suite over its workers (`scripts/test.sh` runs it with
`--dist loadfile`): a test module is one unit, so its module-scoped warehouse is built
once; and a folder whose tests share a session-built warehouse is one unit, so that
warehouse is built once, not once in each worker that happens to run one of its files.

And one dbt parse cache for the whole run (oie/dbt_parse_cache.py): nearly every test
builds in a new data dir, where dbt would otherwise parse the project from scratch.

And the environment: the runner's own settings for the product, dbt, Cloudflare, Google
Cloud and the ingest server are dropped before any test runs
(tests/python/helpers/environment.py), and the run's header names them.

And the disk: a whole run writes about 2.6 GB of warehouses, dbt targets and browser
profiles, more than a CI machine's /tmp may hold. pytest deletes a passed test's
`tmp_path` (`tmp_path_retention_policy = "failed"` in pyproject.toml), and this file
deletes what a module- or session-scoped fixture made with `tmp_path_factory` once the
fixture is torn down, so a run holds only the warehouses its current modules use. A failed
test's folder, and those of the fixtures alive when it failed, are kept for the
post-mortem; `-o tmp_path_retention_policy=all` keeps every folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

from oie.dbt_parse_cache import CACHE_ENV
from tests.python.helpers.environment import drop_caller_settings

# Before any test, in the controller and in each worker (each imports this file): the
# runner's own settings (tests/python/helpers/environment.py says which).
CALLER_SETTINGS_DROPPED = drop_caller_settings(os.environ)

# Folders whose conftest builds a warehouse once per session for all their modules.
SHARED_SESSION_FOLDERS = ("tests/python/alerts/", "tests/python/report/")


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its shared folder, else its module."""
    for folder in SHARED_SESSION_FOLDERS:
        if nodeid.startswith(folder):
            return folder
    return nodeid.split("::", 1)[0]


class ModuleOrSharedFolderScheduling(LoadFileScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)


# optional: `make mutate` runs pytest with xdist disabled (pyproject.toml [tool.mutmut])
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    # xdist's own loadgroup marks cannot do this under pytest 9 (it edits a node id
    # attribute pytest no longer reads), so the grouping lives in the scheduler
    if config.getvalue("dist") != "loadfile":
        return None
    return ModuleOrSharedFolderScheduling(config, log)


_OWN_PARSE_CACHE: list[str] = []

# per wider-scoped fixture (by its FixtureDef's id): the temp folders its setup made, and
# how many tests of the worker had failed by then
_FIXTURE_FOLDERS: dict[int, tuple[set[Path], int]] = {}


def _temp_folders(config: pytest.Config) -> set[Path]:
    return set(config._tmp_path_factory.getbasetemp().iterdir())  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    # pytest sets up a fixture's own dependencies before this hook, so the folders that
    # appear during it are the ones this fixture's body made
    if fixturedef.scope == "function" or "tmp_path_factory" not in fixturedef.argnames:
        return (yield)
    before = _temp_folders(request.config)
    try:
        return (yield)
    finally:
        made = _temp_folders(request.config) - before
        _FIXTURE_FOLDERS[id(fixturedef)] = made, request.session.testsfailed


def pytest_fixture_post_finalizer(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> None:
    made, failed_before = _FIXTURE_FOLDERS.pop(id(fixturedef), (set(), 0))
    keep_all = request.config.getini("tmp_path_retention_policy") == "all"
    if keep_all or request.session.testsfailed > failed_before:
        return
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    # In the controller, before xdist starts its workers: they and every `oie` and dbt
    # process the tests start inherit the variable. A value set by the caller is kept.
    if hasattr(config, "workerinput") or os.environ.get(CACHE_ENV):
        return
    folder = tempfile.mkdtemp(prefix="oie-dbt-parse-")
    os.environ[CACHE_ENV] = folder
    _OWN_PARSE_CACHE.append(folder)


def pytest_report_header(config: pytest.Config) -> str | None:
    if not CALLER_SETTINGS_DROPPED:
        return None
    return "ignored the runner's own settings: " + ", ".join(CALLER_SETTINGS_DROPPED)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _OWN_PARSE_CACHE:
        shutil.rmtree(_OWN_PARSE_CACHE.pop(), ignore_errors=True)
