"""The alerts tests share one scenario warehouse, built once per session by a real
`dbt build` inside the worker (tests/python/helpers/dbt_in_worker.py; its unit tests
included, so lead_level_episodes' own run with it); each test
works on a copy of it. Once per session is once per suite: the folder is one xdist unit
(tests/python/conftest.py), so one worker runs all its modules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from oie import warehouse
from tests.python.alerts.support import Warehouse, copy_template
from tests.python.helpers import dbt_in_worker
from tests.python.helpers.webhook_receiver import WebhookReceiver, start_webhook_receiver
from tests.python.warehouse import scenario


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario as of 2026-03-10 12:00: Ada (64), Bob (62) and Cy (60) hot, Dee warm,
    the rest cold; returns its data folder."""
    data_dir = tmp_path_factory.mktemp("alerts-template")
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    env = {"OIE_DATA_DIR": str(data_dir), "OIE_LANDING_DIR": str(data_dir / "landing")}
    build = warehouse.dbt_command(vars=scenario.pinned_vars())
    assert dbt_in_worker.run(build, env) == 0
    return data_dir


@pytest.fixture(scope="session")
def run_results(built: Path) -> dict[str, str]:
    """unique_id -> status of everything the template's build ran."""
    path = built / "dbt" / "target" / "run_results.json"
    return {r["unique_id"]: r["status"] for r in json.loads(path.read_text())["results"]}


@pytest.fixture
def wh(built: Path, tmp_path: Path) -> Warehouse:
    return copy_template(built, tmp_path / "data")


@pytest.fixture
def rx() -> Iterator[WebhookReceiver]:
    with start_webhook_receiver() as receiver:
        yield receiver
