"""One erasure, store by store, in the order that keeps the person gone at every moment:
tombstones first (from then on nothing of theirs is landed, sealed, imported or built),
then every store that holds their data. Counts only, never values, are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest_function.sinks.base import Batch
from ingest_function.sinks.bigquery import BigQuerySink
from ingest_function.sinks.delivery import make_dead_letter
from oie import dbt_vars
from oie.forget.bigquery import (
    FAILED,
    FORBIDDEN,
    STREAMING_BUFFER,
    BigQueryErasure,
    uses_bigquery,
)
from oie.forget.databases import erase_duckdb, erase_sqlite
from oie.forget.files import Needles, erase_dead_letter, erase_landing
from oie.forget.pending import register as register_bigquery_pending
from oie.forget.pending import retry as retry_bigquery_pending
from oie.forget.person import Person, Selector, resolve
from oie_core import landing
from oie_core import tombstones as tb
from oie_core.bigquery_client import MISSING_EXTRA
from oie_core.erasure_pending import register as register_pending
from oie_core.erasure_pending import scrub as scrub_pending
from oie_core.settings import Settings
from oie_core.tombstones_bigquery import BigQueryTombstones


@dataclass
class StoreResult:
    store: str
    removed: int
    unit: str
    pending: bool = False  # counted now, removed by a later step

    def line(self, dry_run: bool) -> str:
        if self.pending:
            return f"{self.store}: {self.removed} {self.unit}"
        verb = "would remove" if dry_run else "removed"
        return f"{self.store}: {verb} {self.removed} {self.unit}"


@dataclass
class ForgetReport:
    person: Person
    dry_run: bool
    stores: list[StoreResult] = field(default_factory=list)
    tombstones: int = 0

    @property
    def removed(self) -> int:
        return sum(s.removed for s in self.stores)


class ForgetError(Exception):
    """The erasure could not be done at all (nothing was changed)."""


class ForgetIncomplete(Exception):
    """Part of the erasure is left pending for a reason the operator must fix (exit 1)."""


def forget(
    settings: Settings,
    selector: Selector,
    *,
    dry_run: bool,
    now: float | None = None,
    on_store: Callable[[StoreResult], None] | None = None,
) -> ForgetReport:
    """Erase the selected person (the caller holds the `oie run` lock)."""
    now = time.time() if now is None else now
    key = settings.tombstone_key()
    data_dir, landing_dir = settings.data_dir, settings.landing_dir
    warehouse = data_dir / "warehouse.duckdb"
    bigquery = _bigquery(settings)
    if not dry_run:
        landing.seal_stale(landing_dir, now)
        scrub_pending(settings, now)
        if bigquery is not None:
            retry_bigquery_pending(settings, bigquery, now)
    person = resolve(selector, data_dir, landing_dir, warehouse, bigquery)
    report = ForgetReport(person, dry_run)

    def add(result: StoreResult) -> None:
        report.stores.append(result)
        if on_store is not None:
            on_store(result)

    identifiers = [(selector.kind, selector.value), *person.identifiers()]
    report.tombstones = _record_tombstones(settings, key, identifiers, bigquery, now, dry_run)

    needles = Needles(*person.needles())
    erased = erase_landing(landing_dir, needles, dry_run=dry_run)
    add(StoreResult("landing files", erased.records, f"line(s) from {erased.files} file(s)"))
    if erased.live and not dry_run:
        register_pending(settings, erased.live, now)
        add(
            StoreResult(
                "landing files still open",
                len(erased.live),
                "file(s): their lines go at the next seal (oie run)",
                pending=True,
            )
        )
    store = make_dead_letter(settings, with_faults=False)
    if store is not None:
        dead = erase_dead_letter(store, needles, dry_run=dry_run)
        add(StoreResult("dead letter", dead.records, f"record(s) from {dead.files} file(s)"))
    for path in _databases(data_dir):
        if path.suffix == ".duckdb":
            result = erase_duckdb(path, needles, dry_run=dry_run)
        else:
            result = erase_sqlite(path, needles, dry_run=dry_run)
        add(StoreResult(path.name, result.rows, f"row(s) from {len(result.tables)} table(s)"))
    if settings.kv == "cloudflare":
        add(_erase_cloudflare(settings, person, dry_run=dry_run))
    if bigquery is not None:
        _erase_bigquery(settings, bigquery, needles, now, dry_run=dry_run, add=add)
    return report


def _bigquery(settings: Settings) -> BigQueryErasure | None:
    if not uses_bigquery(settings):
        return None
    try:
        return BigQueryErasure.from_settings(settings, dbt_vars.project_vars())
    except ImportError:
        raise ForgetError(MISSING_EXTRA + ": nothing was changed") from None
    except ValueError as exc:
        raise ForgetError(f"{exc}: nothing was changed") from None


def _record_tombstones(
    settings: Settings,
    key: tb.TombstoneKey,
    identifiers: list[tuple[str, str]],
    bigquery: BigQueryErasure | None,
    now: float,
    dry_run: bool,
) -> int:
    """Tombstones go first, wherever they are read: the landing folder (local builds, the
    local ingest server, `oie campaign create`) and, with the BigQuery sink, raw_tombstones
    (the ingest function, BigQuery builds); each place gets those it lacks. Kept even
    when nothing is held, so later events and imports stay suppressed."""
    records = tb.records(key, identifiers, now)
    local = tb.load(settings.landing_dir)
    new_local = [r for r in records if not local.holds(r["kind"], r["key_hash"])]
    new_remote: list[dict] = []
    remote = BigQueryTombstones.for_settings(settings)
    if remote is not None:
        remote_held = remote.load()
        new_remote = [r for r in records if not remote_held.holds(r["kind"], r["key_hash"])]
    if not dry_run:
        tb.write_warehouse_key(settings.data_dir, key)
        if new_local:
            writer = landing.LandingWriter(settings.landing_dir, background_rotation=False)
            writer.write_records(tb.STREAM, new_local, now)
            writer.close()
        if bigquery is not None:
            bigquery.write_key(key)
        if new_remote and bigquery is not None:
            bigquery.ensure_tombstones_table(str(settings.bq_dataset))
            sink = BigQuerySink.from_settings(settings)
            try:
                sink.write(Batch([], [], now, tombstones=new_remote))
            finally:
                sink.close()
    return len({(r["kind"], r["key_hash"]) for r in [*new_local, *new_remote]})


def _erase_bigquery(
    settings: Settings,
    bigquery: BigQueryErasure,
    needles: Needles,
    now: float,
    *,
    dry_run: bool,
    add: Callable[[StoreResult], None],
) -> None:
    results = bigquery.erase(needles, dry_run=dry_run)
    for result in results:
        if result.pending == STREAMING_BUFFER:
            unit = "row(s) pending: in BigQuery's streaming buffer, `oie run` deletes them later"
        elif result.pending == FORBIDDEN:
            unit = "row(s) pending: BigQuery refused the DELETE (no permission)"
        elif result.pending:
            unit = "row(s) pending: BigQuery failed, `oie run` tries again"
        else:
            unit = "row(s)"
        add(StoreResult(f"BigQuery {result.table}", result.rows, unit, bool(result.pending)))
    if dry_run:
        return
    refused = [r for r in results if r.pending]
    register_bigquery_pending(settings, bigquery, needles, refused, now)
    forbidden = [r for r in refused if r.pending == FORBIDDEN]
    if forbidden:
        raise ForgetIncomplete(
            f"BigQuery refused to delete from {len(forbidden)} table(s) ({forbidden[0].message}): "
            "the erasure stays pending; grant the account bigquery.tables.updateData on the "
            "dataset (roles/bigquery.dataEditor), then `oie run` or `oie forget` finishes it"
        )
    failed = [r for r in refused if r.pending == FAILED]
    if failed:
        raise ForgetIncomplete(
            f"BigQuery failed on {len(failed)} table(s) ({failed[0].table}: {failed[0].message}): "
            "the erasure stays pending and `oie run` tries again"
        )


def _databases(data_dir: Path) -> list[Path]:
    found = [*data_dir.glob("*.duckdb"), *data_dir.glob("*.sqlite")]
    return sorted(p for p in found if p.is_file() and not p.name.startswith("."))


def _erase_cloudflare(settings: Settings, person: Person, *, dry_run: bool) -> StoreResult:
    from kv_sync.clock import SystemClock
    from kv_sync.runner import open_store

    keys = [f"v:{v}" for v in sorted(person.visitor_ids)]
    keys += [f"t:{t}" for t in sorted(person.tokens)]
    store = open_store(settings, SystemClock())
    held = [k for k in keys if store.get(k) is not None]
    if held and not dry_run:
        result = store.delete_many(held)
        if result.unsuccessful:
            raise RuntimeError(f"Workers KV did not delete {len(result.unsuccessful)} key(s)")
    return StoreResult("Workers KV", len(held), "key(s)")


def forget_under_lock(
    settings: Settings,
    selector: Selector,
    *,
    dry_run: bool,
    on_store: Callable[[StoreResult], None] | None = None,
) -> ForgetReport:
    """`forget` under the `oie run` lock (no build, sync or other erasure runs meanwhile);
    RunBusy when one holds it."""
    from oie.run_lock import run_lock

    with run_lock(settings.data_dir, wait=False):
        return forget(settings, selector, dry_run=dry_run, on_store=on_store)
