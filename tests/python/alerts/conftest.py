"""The alerts tests share one scenario warehouse, built once per session by a real
`dbt build` inside the worker, as a scheduled run builds (tests/python/helpers/
scenario_build.py; lead_level_episodes' unit tests run with every other in
tests/python/warehouse/test_unit_tests.py); each test works on a copy of it. Once per
session is once per suite: the folder is one xdist unit (tests/python/conftest.py), so one
worker runs all its modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.python.alerts.support import Warehouse, copy_template
from tests.python.helpers.scenario_build import build_data
from tests.python.helpers.webhook_receiver import WebhookReceiver, start_webhook_receiver
from tests.python.warehouse import scenario


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario as of 2026-03-10 12:00: Ada (64), Bob (62) and Cy (60) hot, Dee warm,
    the rest cold; returns its data folder."""
    data_dir = tmp_path_factory.mktemp("alerts-template")
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    assert build_data(data_dir, vars=scenario.pinned_vars()) == 0
    return data_dir


@pytest.fixture
def wh(built: Path, tmp_path: Path) -> Warehouse:
    return copy_template(built, tmp_path / "data")


@pytest.fixture
def rx() -> Iterator[WebhookReceiver]:
    with start_webhook_receiver() as receiver:
        yield receiver
