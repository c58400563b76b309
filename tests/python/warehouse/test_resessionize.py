"""Incremental sessionization restarts each touched visitor at the first session its new
events can change (docs/warehouse.md, "What a scheduled run reads"): a generated history
with late and out-of-order events, built in arrival batches, equals one full build row
for row; so does a warehouse built before the restart columns existed."""

from __future__ import annotations

import json
import random
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from oie_core.landing import iso_ms
from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

VARS = scenario.pinned_vars()
SELECT = "+int_sessions"
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BATCHES = 4
PATHS = ["/", "/pricing", "/product", "/blog/a", "/case-studies/acme", "/docs"]


def _history(seed: int = 17) -> list[tuple[datetime, dict[str, Any]]]:
    """(received_at, landing line): 8 visitors over three days, most gaps inside the session
    timeout, some just past it, a sixth of the lines received hours to two days late (so they
    land between, inside and before sessions already built), and one line too old to keep."""
    rng = random.Random(seed)
    lines: list[tuple[datetime, dict[str, Any]]] = []
    for v in range(8):
        at = START + timedelta(minutes=rng.randint(0, 600))
        for n in range(40):
            at += timedelta(seconds=rng.choice([20, 90, 600, 1500, 1799, 1801, 2400, 7200, 30000]))
            late = rng.random() < 0.17
            received = at + (timedelta(hours=rng.uniform(1, 48)) if late else timedelta(seconds=2))
            kind = rng.choice(["pageview", "pageview", "scroll_depth", "page_exit"])
            data: dict[str, Any] = {
                "pageview": {"title": "t"},
                "scroll_depth": {"depth": rng.choice([25, 50, 75, 100])},
                "page_exit": {"max_depth": 80, "active_ms": rng.randint(1000, 90000)},
            }[kind]
            line = scenario.landing_event(
                f"e-{v}-{n:02d}",
                kind,
                at,
                received,
                visitor=f"v-{v}",
                token=None,
                url=f"https://example.com{rng.choice(PATHS)}",
                data=data,
            )
            lines.append((received, line))
    received = START + timedelta(days=3)
    too_old = scenario.landing_event(
        "e-too-old",
        "pageview",
        received - timedelta(days=9),
        received,
        visitor="v-0",
        token=None,
        url="https://example.com/",
        data={"title": "t"},
    )
    lines.append((received, too_old))
    # a batch of visitor v-1 retried nine days after it was first received: the copy is
    # refused as too old under the id of an event already kept, and must never count twice
    first_received, first = next((r, line) for r, line in lines if line["visitor_id"] == "v-1")
    retried_at = first_received + timedelta(days=9)
    lines.append((retried_at, {**first, "received_at": iso_ms(retried_at.timestamp())}))
    return sorted(lines, key=lambda pair: pair[0])


def _land(landing: Path, batch: int, lines: list[tuple[datetime, dict[str, Any]]]) -> None:
    for received, line in lines:
        path = landing / "events" / received.strftime("dt=%Y-%m-%d/hr=%H") / f"b{batch}.ndjson"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


def _batches() -> list[list[tuple[datetime, dict[str, Any]]]]:
    lines = _history()
    size = len(lines) // BATCHES + 1
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def _build(data_dir: Path, full_refresh: bool, data_tests: bool = True) -> None:
    rc = build_data(
        data_dir, select=SELECT, full_refresh=full_refresh, vars=VARS, data_tests=data_tests
    )
    assert rc == 0


SNAPSHOTS = {
    "sessionized": (
        "select event_id, session_id, visitor_id, event_at, session_started_at, page_view_index,"
        " received_at, session_first_received_at from int_events_sessionized order by event_id"
    ),
    "sessions": "select * exclude (oie_sessionized_at) from int_sessions order by session_id",
    "refused": (
        "select event_key, rejection_reason from int_events_deduped"
        " where rejection_reason is not null order by event_key"
    ),
}


def _rows_by_column_name(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """Rows with their columns in name order: a column appended to an older table comes
    last in `select *`, wherever a fresh build puts it."""
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    order = sorted(range(len(names)), key=names.__getitem__)
    return [tuple(row[i] for i in order) for row in cursor.fetchall()]


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: _rows_by_column_name(con, sql) for name, sql in SNAPSHOTS.items()}


def _session_ids(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {row[0] for row in con.execute("select session_id from int_sessions").fetchall()}


def _assert_each_event_counted_once(db: Path) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        counted, sessionized = con.execute(
            "select (select sum(events) from int_sessions),"
            " (select count(*) from int_events_sessionized)"
        ).fetchone() or (None, None)
    assert counted == sessionized, "an event counted twice in its session"


def _days_the_new_lines_read_skipped(data_dir: Path) -> int:
    """The scheduled read of new lines names the landing day folders from its watermark's
    day on, each one, and no glob over every day (macros/staged_events.sql); the number of
    day folders it left out."""
    (compiled,) = (data_dir / "dbt" / "target" / "compiled").rglob("int_events_deduped.sql")
    sql = compiled.read_text()
    assert "/events/*/*/*.ndjson" not in sql
    (since,) = re.findall(r"landing_date >= cast\('([0-9-]+)' as date\)", sql)
    folders = sorted(p.name[3:] for p in (data_dir / "landing" / "events").glob("dt=*"))
    assert sorted(set(re.findall(r"/events/dt=([0-9-]+)/", sql))) == [
        d for d in folders if d >= since
    ]
    return sum(d < since for d in folders)


# The stamp of the rows each model wrote in a run (its new rows, the delete's keys).
RUN_STAMPS = {"int_events_deduped": "oie_loaded_at", "int_events_sessionized": "oie_sessionized_at"}


def _assert_deletes_read_from_the_new_rows_earliest_day(data_dir: Path) -> None:
    """A scheduled run's delete+insert deletes only among stored rows from a day before the
    earliest event of its new rows (oie_delete_floor, macros/incremental.sql), a literal."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for model, stamp in RUN_STAMPS.items():
            (run_sql,) = (data_dir / "dbt" / "target" / "run").rglob(f"{model}.sql")
            bounds = re.findall(
                r"\)\s*and event_at >= cast\('([0-9: .-]+)' as timestamp\)\s*;",
                run_sql.read_text(),
            )
            (earliest,) = con.execute(
                f"select min(event_at) - interval 1 day from {model}"
                f" where {stamp} = (select max({stamp}) from {model})"
            ).fetchone() or (None,)
            assert [datetime.fromisoformat(b) for b in bounds] == [earliest], model


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    data_dir = tmp_path_factory.mktemp("full")
    for batch, lines in enumerate(_batches()):
        _land(data_dir / "landing", batch, lines)
    _build(data_dir, full_refresh=True, data_tests=False)  # the reference
    _assert_each_event_counted_once(data_dir / "warehouse.duckdb")
    return _snapshot(data_dir / "warehouse.duckdb")


def test_arrival_batches_equal_one_full_build(full: dict[str, list[tuple]], tmp_path: Path) -> None:
    seen: set[str] = set()
    skipped_days = 0
    for batch, lines in enumerate(_batches()):
        _land(tmp_path / "landing", batch, lines)
        _build(tmp_path, full_refresh=batch == 0)
        seen |= _session_ids(tmp_path / "warehouse.duckdb")
        if batch:
            skipped_days += _days_the_new_lines_read_skipped(tmp_path)
            _assert_deletes_read_from_the_new_rows_earliest_day(tmp_path)
    assert skipped_days, "a later batch's read left the days before its watermark alone"
    final = _snapshot(tmp_path / "warehouse.duckdb")
    # the history exercises the hard paths: late events merged sessions built earlier
    assert seen - {row[0] for row in final["sessions"]}, "no session was merged away"
    assert [reason for _, reason in final["refused"]] == ["too_old", "too_old"]
    assert all(key.startswith("refused:") for key, _ in final["refused"])
    _assert_each_event_counted_once(tmp_path / "warehouse.duckdb")
    for name in SNAPSHOTS:
        assert final[name] == full[name], name


def test_a_warehouse_built_before_the_restart_columns_catches_up(
    full: dict[str, list[tuple]], tmp_path: Path
) -> None:
    batches = _batches()
    _land(tmp_path / "landing", 0, batches[0])
    _build(tmp_path, full_refresh=True)
    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("alter table int_events_sessionized drop column session_started_at")
        con.execute("alter table int_events_sessionized drop column received_at")
        con.execute("alter table int_events_sessionized drop column session_first_received_at")
        con.execute("alter table int_sessions drop column last_received_at")
        con.execute("alter table int_sessions drop column first_received_at")
    for batch, lines in enumerate(batches[1:], start=1):
        _land(tmp_path / "landing", batch, lines)
        _build(tmp_path, full_refresh=False)
    assert _snapshot(db)["sessions"] == full["sessions"]
    with duckdb.connect(str(db), read_only=True) as con:
        sessionized = con.execute(
            "select event_id, session_id, page_view_index from int_events_sessionized"
            " order by event_id"
        ).fetchall()
    with duckdb.connect(str(db), read_only=True) as con:
        names = sorted(c[0] for c in con.execute(SNAPSHOTS["sessionized"]).description)
    keep = [names.index(name) for name in ("event_id", "session_id", "page_view_index")]
    assert sessionized == [tuple(row[i] for i in keep) for row in full["sessionized"]]


def _compiled(data_dir: Path, model: str) -> str:
    (path,) = (data_dir / "dbt" / "target" / "compiled").rglob(f"{model}.sql")
    return path.read_text()


def test_retention_cutting_through_sessions_equals_a_full_build(tmp_path: Path) -> None:
    """Retention deletes lines by when they were received, so its cutoff passes through
    sessions: it deletes the first lines of some (a later or late line kept), lines inside
    others. Each scheduled run whose cutoff moved on equals a full build of what is left:
    the cut visitors named as constants, and (a copy, over the limit of listed visitors)
    found by a subquery; the second step with new lines arriving as well."""
    batches = _batches()
    listed, by_subquery = tmp_path / "listed", tmp_path / "by-subquery"
    for batch, lines in enumerate(batches[:-1]):
        _land(listed / "landing", batch, lines)
    _build(listed, full_refresh=True, data_tests=False)
    shutil.copytree(listed, by_subquery)
    heads_cut = 0
    # the cutoff (as_of less one day of retention) through the history's second day
    for step, as_of in enumerate(
        (START + timedelta(days=2, hours=3), START + timedelta(days=2, hours=8))
    ):
        if step:
            for data_dir in (listed, by_subquery):
                _land(data_dir / "landing", BATCHES - 1, batches[-1])
        heads_cut += _sessions_losing_their_first_line(listed, as_of - timedelta(days=1))
        pinned = {
            **VARS,
            "oie_as_of": as_of.strftime("%Y-%m-%dT%H:%M:%S"),
            "oie_raw_retention_days": 1,
        }
        for data_dir, most in ((listed, 10000), (by_subquery, 0)):
            assert (
                build_data(
                    data_dir, select=SELECT, vars={**pinned, "oie_session_cut_max_listed": most}
                )
                == 0
            )
        reference = tmp_path / f"reference-{step}"
        shutil.copytree(listed, reference)
        assert (
            build_data(reference, select=SELECT, vars=pinned, full_refresh=True, data_tests=False)
            == 0
        )
        expected = _snapshot(reference / "warehouse.duckdb")
        for data_dir in (listed, by_subquery):
            _assert_each_event_counted_once(data_dir / "warehouse.duckdb")
            actual = _snapshot(data_dir / "warehouse.duckdb")
            for name in SNAPSHOTS:
                assert actual[name] == expected[name], f"step {step}, {data_dir.name}: {name}"
        # the runs took the paths named: constants, and a subquery
        for model in ("int_events_sessionized", "int_sessions"):
            assert re.search(r"visitor_id in \('v-[0-9]'", _compiled(listed, model)), model
            assert "cut_visitors" in _compiled(by_subquery, model), model
    assert heads_cut, "retention deleted no session's first line while keeping a later one"


def _sessions_losing_their_first_line(data_dir: Path, cutoff: datetime) -> int:
    """Sessions whose first line the cutoff deletes while a later line stays: the case that
    moves a session's start and id."""
    cut = cutoff.replace(tzinfo=None)
    ((count,),) = _rows(
        data_dir,
        "select count(distinct s.session_id) from int_sessions as s"
        " join int_events_sessionized as e on e.session_id = s.session_id"
        " and e.event_at = s.started_at"
        f" where e.received_at < '{cut}' and s.last_received_at >= '{cut}'",
    )
    return count


def _rows(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()
