"""Fixtures for the edge Worker tests: Miniflare started by pixel/worker/test/harness.mjs
(once per module), and a small warehouse whose `edge_profiles` the real KV sync pushed into
its KV namespace through the real `cloudflare` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kv_sync import runner
from kv_sync.sync import SyncReport
from oie_core.settings import Settings
from tests.python.kv.support import lead_rows, profile, write_edge_profiles
from tests.python.worker.support import ORIGINS, Edge, start_edge


def doc(**fields: object) -> str:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


# edge_profiles as the tests write it (key -> JSON value):
ROWS: dict[str, str] = {
    # Leads 0-5: a visitor key and a token key each (lead_rows: v:visitor-00000N, t:Tk00000000N).
    **lead_rows(6),
    # Lead 10's token was forwarded: the mart gives it no t: key, only its visitor's.
    "v:visitor-000010": profile(10, level="hot"),
    # More than a page may show (the mart never writes this): the Worker keeps the public part.
    "v:visitor-000020": doc(
        first_name="Zoë",
        company="Café Ünïcode",
        engagement_level="burning",
        campaign_id="spring-launch",
        updated_at="2027-01-15T10:00:00.000Z",
        score=91,
        email="zoe@example.com",
    ),
    # A value flagged forwarded is no profile either (as local_kv.py reads it).
    "t:Tk000000030": doc(first_name="Fwd", company="X", forwarded=True),
    # Nor is a value that is not a JSON object: the next key answers.
    "v:visitor-000040": "not json {",
    "v:visitor-000041": "[1, 2]",
}
FORWARDED_TOKEN = "Tk000000010"  # lead 10's token: no key


@dataclass
class Synced:
    edge: Edge
    data_dir: Path
    report: SyncReport
    rows: dict[str, str]


def sync(edge: Edge, data_dir: Path, **extra: str) -> SyncReport:
    """The real sync (kv_sync.runner.run: warehouse diff, the cloudflare SDK, the state)."""
    return runner.run(Settings.from_env(edge.sync_env(data_dir, **extra)))


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    with start_edge(ORIGINS, tmp_path_factory.mktemp("edge-log")) as e:
        yield e


@pytest.fixture(scope="module")
def synced(edge: Edge, tmp_path_factory: pytest.TempPathFactory) -> Synced:
    data_dir = tmp_path_factory.mktemp("edge-warehouse")
    write_edge_profiles(data_dir, ROWS)
    report = sync(edge, data_dir)
    assert (report.new, report.failed) == (len(ROWS), []), edge.log()
    return Synced(edge, data_dir, report, dict(ROWS))
