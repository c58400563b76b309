"""The alerts outbox on BigQuery: every statement parses as BigQuery SQL without a
DuckDB-ism (tests/python/helpers/bigquery_check.py), and alerts run against the PyPI
`bqemulator` on 127.0.0.1 (BigQuery's REST API over DuckDB) with the local receiver: a dry
run that only reads, the outbox created and written with MERGE (typed array parameters) and
UPDATE, once per episode, an outage retried with backoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kv_sync.alerts import runner, sql
from kv_sync.state_sql import BIGQUERY
from oie_core.settings import Settings
from tests.python.alerts.support import HOUR, alert_env, clock_now
from tests.python.helpers.bigquery_check import check_statement
from tests.python.helpers.bqemulator import Recording, emulator_dataset
from tests.python.helpers.webhook_receiver import WebhookReceiver

PROJECT, DATASET = "oie-alerts", "oie"
EPISODES = f"`{PROJECT}`.`{DATASET}`.`lead_level_episodes`"
PROFILES = f"`{PROJECT}`.`{DATASET}`.`lead_profiles`"
LOG = f"`{PROJECT}`.`{DATASET}`.`oie_alert_log`"


def test_every_statement_is_bigquery_sql() -> None:
    statements = [
        sql.create_log(BIGQUERY, LOG),
        sql.rearm(BIGQUERY, EPISODES),
        sql.points(BIGQUERY, EPISODES, PROFILES, LOG),
        sql.points(BIGQUERY, EPISODES, PROFILES, sql.empty_log(BIGQUERY)),
        sql.decide(BIGQUERY, LOG),
        sql.record(BIGQUERY, LOG),
        sql.due(BIGQUERY, LOG),
        sql.counts(BIGQUERY, LOG),
    ]
    for text in statements:
        assert check_statement(text) == [], text
        assert "$" not in text and '"' not in text  # DuckDB's parameters and quotes
    assert sql.decide(BIGQUERY, LOG).startswith(f"merge into {LOG} as logged")
    assert "when matched" not in sql.decide(BIGQUERY, LOG)  # a decided alert is never touched


@pytest.fixture(scope="module")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    with emulator_dataset(PROJECT, DATASET, tmp_path_factory.mktemp("bqemu")) as found:
        yield found


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def write_inputs(client: Any, versions: list[tuple[str, int, str, int, int | None, float]]) -> None:
    """lead_level_episodes as the dbt view gives it (lead, episode, level, level_rank,
    previous_peak_rank, recorded_at), and lead_profiles' names."""
    client.query(
        f"create or replace table {PROFILES} as select 'lead_ada' as lead_id, "
        "'Ada' as first_name, 'Lovelace' as last_name, 'Analytical Engines' as company, "
        "'CTO' as title, 'spring-launch' as campaign_id, 'ada@example.com' as email, "
        "false as is_suppressed"
    ).result()
    rows = " union all ".join(
        f"select '{lead}-v{n}' as version_id, '{lead}' as lead_id, 'spring-launch' as campaign_id, "
        f"{episode} as episode, 'cold' as from_level, '{level}' as level, {rank} as level_rank, "
        f"{'cast(null as int64)' if peak is None else peak} as previous_peak_rank, "
        "'cold' as rearm_level, 0 as rearm_rank, 64 as intent_score, "
        "30.0 as score_recency, 8.0 as score_frequency, 9.5 as score_engagement, "
        "8.0 as score_high_intent, 15.0 as score_conversions, "
        "timestamp '2026-03-10 09:04:00' as last_visit_at, '/demo, /pricing' as pages_seen, "
        "timestamp '2026-03-10 12:00:00' as scored_as_of, "
        f"timestamp '{stamp(at)}' as recorded_at"
        for n, (lead, episode, level, rank, peak, at) in enumerate(versions)
    )
    client.query(f"create or replace table {EPISODES} as {rows}").result()


def test_alerts_on_bigquery(bigquery: tuple[Any, str], rx: WebhookReceiver, tmp_path: Path) -> None:
    client, url = bigquery
    clock = clock_now()
    t = clock.now() - HOUR
    write_inputs(client, [("lead_ada", 0, "hot", 2, None, t)])
    env = alert_env(
        tmp_path,
        rx,
        webhook=True,
        OIE_TARGET="bigquery",
        OIE_BQ_PROJECT=PROJECT,
        OIE_BQ_DATASET=DATASET,
        OIE_BQ_API_ENDPOINT=url,
    )
    settings = Settings.from_env(env)
    recording = Recording(client)

    def alerts(**kwargs: Any) -> runner.AlertReport:
        return runner.run(settings, clock=clock, bigquery_client=recording, **kwargs)

    dry = alerts(dry_run=True)  # before the outbox exists: reads only, creates nothing
    assert len(dry.would_send) == 2 and rx.received == []
    assert all(text.lstrip().startswith("select") for text, _ in recording.sent)

    first = alerts()
    assert (first.sent, first.pending, first.failed) == (2, 0, 0)
    assert [r.path for r in rx.received] == [rx.SLACK_PATH, rx.WEBHOOK_PATH]
    assert alerts().sent == 0 and len(rx.received) == 2

    # a new episode, met by an outage: pending with backoff, then delivered once
    write_inputs(
        client,
        [
            ("lead_ada", 0, "hot", 2, None, t),
            ("lead_ada", 1, "cold", 0, None, t + 1),
            ("lead_ada", 1, "hot", 2, 0, t + 2),
        ],
    )
    rx.down()
    outage = alerts()
    assert (outage.sent, outage.pending) == (0, 2)
    logged = {
        (r[0], r[1]): (r[2], r[3])
        for r in client.query(f"select channel, episode, status, attempts from {LOG}").result()
    }
    assert logged == {
        ("slack", 0): ("delivered", 1),
        ("webhook", 0): ("delivered", 1),
        ("slack", 1): ("pending", 1),
        ("webhook", 1): ("pending", 1),
    }
    rx.up()
    clock.advance(5 * 60)
    back = alerts()
    assert (back.sent, back.pending) == (2, 0) and len(rx.received) == 4

    for text, _ in recording.sent:
        assert check_statement(text) == [], text
    merges = [(t, p) for t, p in recording.sent if t.startswith("merge")]
    assert len(merges) == 2  # one per run that decided something
    for _, params in merges:
        names = {p.name: p for p in params}
        assert set(names) == {"rows", "now"} and names["rows"].values
    updates = [t for t, _ in recording.sent if t.startswith("update")]
    assert len(updates) == 6  # one per delivery attempt
    assert not any(
        t.lstrip().startswith(("insert", "delete", f"update {EPISODES}", f"update {PROFILES}"))
        for t, _ in recording.sent
    )
