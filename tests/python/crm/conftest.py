"""Fixtures of the CRM sync tests: the HubSpot stand-in, a clock that never sleeps for real,
and urllib3's retry sleeps recorded instead of slept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.python.crm.support import RetrySleeps
from tests.python.helpers.hubspot_standin import HubSpotStandin, start_hubspot_standin
from tests.python.kv.support import FakeClock


@pytest.fixture
def hs() -> Iterator[HubSpotStandin]:
    with start_hubspot_standin() as standin:
        yield standin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> RetrySleeps:
    import urllib3.util.retry

    sleeps = RetrySleeps()
    monkeypatch.setattr(urllib3.util.retry, "time", sleeps)
    return sleeps
