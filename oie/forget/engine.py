"""One erasure, store by store, in the order that keeps the person gone at every moment:
tombstones first (from then on nothing of theirs is landed, sealed, imported or built),
then every store that holds their data. Counts only, never values, are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oie.forget.databases import erase_duckdb, erase_sqlite
from oie.forget.files import Needles, erase_dead_letter_folder, erase_landing
from oie.forget.person import Person, Selector, resolve
from oie_core import landing
from oie_core import tombstones as tb
from oie_core.erasure_pending import register as register_pending
from oie_core.erasure_pending import scrub as scrub_pending
from oie_core.settings import Settings


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


def forget(
    settings: Settings,
    selector: Selector,
    *,
    dry_run: bool,
    now: float | None = None,
    on_store: Callable[[StoreResult], None] | None = None,
) -> ForgetReport:
    """Erase the selected person (the caller holds the `oie run` lock)."""
    if settings.target != "local" or settings.sink != "local":
        raise ForgetError(
            "erasure from BigQuery (OIE_TARGET/OIE_SINK=bigquery) is not built yet: "
            "nothing was changed"
        )
    if settings.dead_letter and "://" in settings.dead_letter:
        raise ForgetError(
            f"erasure from a {settings.dead_letter.split('://')[0]}:// dead letter is not "
            "built yet: nothing was changed"
        )
    now = time.time() if now is None else now
    key = settings.tombstone_key()
    data_dir, landing_dir = settings.data_dir, settings.landing_dir
    warehouse = data_dir / "warehouse.duckdb"
    if not dry_run:
        landing.seal_stale(landing_dir, now)
        scrub_pending(settings, now)
    person = resolve(selector, data_dir, landing_dir, warehouse)
    report = ForgetReport(person, dry_run)

    def add(result: StoreResult) -> None:
        report.stores.append(result)
        if on_store is not None:
            on_store(result)

    identifiers = [(selector.kind, selector.value), *person.identifiers()]
    held = tb.load(landing_dir)
    records = [
        r for r in tb.records(key, identifiers, now) if not held.holds(r["kind"], r["key_hash"])
    ]
    report.tombstones = len(records)
    if not dry_run:
        tb.write_warehouse_key(data_dir, key)
        if records:  # kept even when nothing is held: later events and imports stay suppressed
            writer = landing.LandingWriter(landing_dir, background_rotation=False)
            writer.write_records(tb.STREAM, records, now)
            writer.close()

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
    if settings.dead_letter:
        dead = erase_dead_letter_folder(Path(settings.dead_letter), needles, dry_run=dry_run)
        add(StoreResult("dead letter", dead.records, f"record(s) from {dead.files} file(s)"))
    for path in _databases(data_dir):
        if path.suffix == ".duckdb":
            result = erase_duckdb(path, needles, dry_run=dry_run)
        else:
            result = erase_sqlite(path, needles, dry_run=dry_run)
        add(StoreResult(path.name, result.rows, f"row(s) from {len(result.tables)} table(s)"))
    if settings.kv == "cloudflare":
        add(_erase_cloudflare(settings, person, dry_run=dry_run))
    return report


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
    from oie.run import run_lock

    with run_lock(settings.data_dir, wait=False):
        return forget(settings, selector, dry_run=dry_run, on_store=on_store)
