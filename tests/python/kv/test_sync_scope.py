"""After a complete sync, the next diff compares only the keys of the leads changed since
(kv_sync/scope.py): what it sends leaves the store exactly as a diff of every key would,
and every case that cannot trust the mark compares every key. Real DuckDB warehouse (the
test writes `edge_profiles` and `edge_profile_changes` as the dbt models shape them; the
models themselves are built in test_e2e.py), the real sync, the local store or the
Cloudflare stand-in."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest_function import local_kv
from kv_sync import runner, scope
from kv_sync.sync import SyncReport
from oie_core.settings import Settings
from tests.python.helpers.cf_standin import start_cf_standin
from tests.python.kv.support import DAY, SECRET, START, FakeClock, cloudflare_env, profile

STAMP = datetime(2027, 1, 15, 8, 0)  # the dbt runs' stamps (UTC, as the warehouse holds them)


class Warehouse:
    """edge_profiles as a view over a table the test edits, and the change log beside it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "warehouse.duckdb"
        self.rows: dict[str, tuple[str, str]] = {}  # key -> (lead, value)
        self.runs = 0
        data_dir.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(self.path)) as con:
            con.execute("create table edge_base (key varchar, value varchar, lead_id varchar)")
            con.execute("create table edge_profile_changes (lead_id varchar, changed_at timestamp)")
            self.define("select key, value, md5(value) as hash, lead_id from edge_base")

    def define(self, select: str) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(f"create or replace view edge_profiles as {select}")

    def run(self, changes: dict[str, tuple[str, str] | None], *, stamped: bool = True) -> None:
        """A dbt run: keys set (lead, value) or removed (None), and each lead they belonged
        or now belong to stamped as changed (unless `stamped` is false)."""
        self.runs += 1
        leads = set()
        for key, row in changes.items():
            if key in self.rows:
                leads.add(self.rows[key][0])
            if row is None:
                self.rows.pop(key, None)
            else:
                self.rows[key] = row
                leads.add(row[0])
        with duckdb.connect(str(self.path)) as con:
            con.execute("delete from edge_base")
            if self.rows:
                con.execute(
                    "insert into edge_base select unnest($k), unnest($v), unnest($l)",
                    {
                        "k": list(self.rows),
                        "v": [v for _, v in self.rows.values()],
                        "l": [lead for lead, _ in self.rows.values()],
                    },
                )
            if stamped:
                for lead in sorted(leads):
                    con.execute(
                        "insert into edge_profile_changes values (?, ?)",
                        [lead, STAMP + timedelta(minutes=self.runs)],
                    )

    def values(self) -> dict[str, str]:
        return {key: value for key, (_, value) in self.rows.items()}

    def state_leads(self) -> dict[str, str | None]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return dict(con.execute("select key, lead_id from kv_sync_state").fetchall())


def leads(n: int) -> dict[str, tuple[str, str] | None]:
    rows: dict[str, tuple[str, str] | None] = {}
    for i in range(n):
        rows[f"v:visitor-{i:06d}"] = (f"lead-{i}", profile(i))
        rows[f"t:Tk{i:09d}"] = (f"lead-{i}", profile(i))
    return rows


def local_store(data_dir: Path) -> dict[str, str]:
    con = sqlite3.connect(data_dir / local_kv.FILE_NAME)
    try:
        return dict(con.execute("select key, value from kv").fetchall())
    finally:
        con.close()


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(t=START)


def sync(warehouse: Warehouse, clock: FakeClock, **kwargs: Any) -> SyncReport:
    settings = Settings.from_env(
        {"OIE_DATA_DIR": str(warehouse.data_dir), "OIE_TOKEN_SECRET": SECRET, "OIE_KV": "local"}
    )
    return runner.run(settings, clock=clock, **kwargs)


def test_the_next_sync_compares_only_changed_leads_and_leaves_the_store_right(
    warehouse: Warehouse, clock: FakeClock
) -> None:
    warehouse.run(leads(6))
    first = sync(warehouse, clock)
    assert (first.new, first.compared_leads) == (12, None)
    assert first.summary().endswith("compared every key")
    assert local_store(warehouse.data_dir) == warehouse.values()
    assert warehouse.state_leads() == {k: lead for k, (lead, _) in warehouse.rows.items()}

    nothing = sync(warehouse, clock)
    assert (nothing.pushed, nothing.deleted, nothing.compared_leads) == (0, 0, 0)

    # Lead 1 turns hot; lead 2's visitor moves to lead 3 (same value as lead 3's keys);
    # lead 4 loses its visitor
    warehouse.run(
        {
            "v:visitor-000001": ("lead-1", profile(1, "hot")),
            "t:Tk000000001": ("lead-1", profile(1, "hot")),
            "v:visitor-000002": ("lead-3", profile(3)),
            "v:visitor-000004": None,
        }
    )
    narrow = sync(warehouse, clock)
    assert narrow.compared_leads == 4  # leads 1 to 4, not six
    assert (narrow.changed, narrow.deleted) == (3, 1)
    assert narrow.summary().endswith("compared the keys of 4 changed lead(s)")
    assert local_store(warehouse.data_dir) == warehouse.values()
    assert warehouse.state_leads() == {k: lead for k, (lead, _) in warehouse.rows.items()}

    # A key moved to a lead whose value is the same is pushed again, so the state knows
    # its lead: otherwise a later change of its old lead would delete it
    warehouse.run({"v:visitor-000005": ("lead-0", profile(5))})
    moved = sync(warehouse, clock)
    assert (moved.changed, moved.compared_leads) == (1, 2)
    assert warehouse.state_leads()["v:visitor-000005"] == "lead-0"
    warehouse.run({"t:Tk000000005": ("lead-5", profile(5, "warm", "Renamed"))})
    sync(warehouse, clock)
    assert local_store(warehouse.data_dir) == warehouse.values()

    # Keys near their expiry are compared (and pushed again) whatever changed
    clock.advance(90 * DAY * 2 / 3 + 1)
    refreshed = sync(warehouse, clock)
    assert refreshed.refreshed == len(warehouse.rows)
    assert refreshed.compared_leads == len({lead for lead, _ in warehouse.rows.values()})


def test_a_change_without_a_stamp_is_left_to_a_diff_of_every_key(
    warehouse: Warehouse, clock: FakeClock
) -> None:
    """The narrow diff trusts the stamps alone; each case below that cannot trust them
    compares every key, and that diff catches the unstamped change."""
    warehouse.run(leads(3))
    sync(warehouse, clock)
    warehouse.run({"t:Tk000000000": ("lead-0", profile(0, "burning"))}, stamped=False)
    assert sync(warehouse, clock).pushed == 0

    # another edge_profiles definition (a var such as oie_edge_min_level changed)
    warehouse.define("select key, value, md5(value) as hash, lead_id from edge_base where true")
    redefined = sync(warehouse, clock)
    assert (redefined.compared_leads, redefined.changed) == (None, 1)
    assert local_store(warehouse.data_dir) == warehouse.values()
    assert sync(warehouse, clock).compared_leads == 0

    # keys whose lead the state does not know (a state kept from before, or --reconcile)
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("update kv_sync_state set lead_id = null where key = 'v:visitor-000002'")
    warehouse.run({"t:Tk000000002": ("lead-2", profile(2, "hot"))}, stamped=False)
    unowned = sync(warehouse, clock)
    assert (unowned.compared_leads, unowned.changed) == (None, 1)
    assert warehouse.state_leads()["v:visitor-000002"] == "lead-2"  # filled in
    assert sync(warehouse, clock).compared_leads == 0

    rebuilt = sync(warehouse, clock, reconcile_state=True)
    assert rebuilt.reconciled == 6 and rebuilt.compared_leads is None
    assert sync(warehouse, clock).compared_leads == 0


def test_more_changed_leads_than_a_narrow_diff_is_worth_compare_every_key(
    warehouse: Warehouse, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scope, "MAX_NARROW_LEADS", 2)
    warehouse.run(leads(4))
    sync(warehouse, clock)
    warehouse.run({f"t:Tk00000000{i}": (f"lead-{i}", profile(i, "hot")) for i in range(2)})
    assert sync(warehouse, clock).compared_leads == 2
    warehouse.run({f"t:Tk00000000{i}": (f"lead-{i}", profile(i, "cold")) for i in range(3)})
    wide = sync(warehouse, clock)
    assert (wide.compared_leads, wide.changed) == (None, 3)
    assert local_store(warehouse.data_dir) == warehouse.values()


def test_a_key_the_store_refused_keeps_the_next_diff_where_this_one_started(
    warehouse: Warehouse, clock: FakeClock
) -> None:
    warehouse.run(leads(3))
    with start_cf_standin(clock=clock.now) as cf:
        settings = Settings.from_env(cloudflare_env(warehouse.data_dir, cf))

        def cf_sync() -> SyncReport:
            return runner.run(settings, clock=clock)

        assert cf_sync().new == 6
        warehouse.run({"t:Tk000000001": ("lead-1", profile(1, "hot"))})
        cf.unsuccessful({"t:Tk000000001"}, times=4)  # every try of this run
        refused = cf_sync()
        assert [f.key for f in refused.failed] == ["t:Tk000000001"]
        warehouse.run({"t:Tk000000002": ("lead-2", profile(2, "hot"))})
        # the refused key's lead is still among the changes the next diff compares
        again = cf_sync()
        assert (again.compared_leads, again.changed, again.failed) == (2, 2, [])
        assert cf.values() == warehouse.values()


def test_a_dry_run_plans_the_same_diff_and_records_no_mark(
    warehouse: Warehouse, clock: FakeClock
) -> None:
    warehouse.run(leads(2))
    sync(warehouse, clock)
    warehouse.run({"t:Tk000000001": ("lead-1", profile(1, "hot"))})
    dry = sync(warehouse, clock, dry_run=True)
    assert (dry.compared_leads, dry.changed) == (1, 1)
    real = sync(warehouse, clock)
    assert (real.compared_leads, real.changed) == (1, 1)


def test_the_mark_is_the_newest_change_the_sync_saw(warehouse: Warehouse, clock: FakeClock) -> None:
    warehouse.run(leads(1))
    warehouse.run({"t:Tk000000000": ("lead-0", profile(0, "hot"))})
    sync(warehouse, clock)
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        marks = con.execute("select store, synced_through from kv_sync_marks").fetchall()
    assert marks == [("local", STAMP + timedelta(minutes=2))]
