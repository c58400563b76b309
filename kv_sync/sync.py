"""The change-only sync: the warehouse's diff pushed to a KV store, and only what the store
confirmed recorded.

The diff (kv_sync/state_sql.py) holds only keys that are new, changed, about to expire or
gone; they are sent in bulk requests (kv_sync/batches.py) and each request's confirmed keys
are recorded before the next request is sent, so a sync killed anywhere resumes without
losing a key and without sending a confirmed one again. Keys a store reports unsuccessful
are retried a few times in this run, then left to the next one (their state never
advanced). A key Workers KV would refuse (over 512 bytes, a value over 25 MiB) is reported
and skipped; the rest goes on.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, field

from kv_sync.ahead import ahead
from kv_sync.batches import Batcher, Pending, wire
from kv_sync.clock import Clock
from kv_sync.state import DiffRow, StateRow, SyncState
from kv_sync.store import MAX_BATCH_BYTES, MAX_BATCH_KEYS, Entry, KVStore, entry_problem

# `unsuccessful_keys` are retried this many more times in one run, a little apart.
RETRIES = 3


@dataclass(frozen=True)
class FailedKey:
    key: str
    reason: str


@dataclass
class SyncReport:
    store: str
    dry_run: bool = False
    new: int = 0
    changed: int = 0
    refreshed: int = 0
    deleted: int = 0
    failed: list[FailedKey] = field(default_factory=list)
    write_requests: int = 0
    reconciled: int | None = None  # keys the state was rebuilt from (--reconcile)
    compared_leads: int | None = None  # the diff's leads (kv_sync/scope.py); None: every key
    waited_s: float = 0.0  # paused for Cloudflare's rate limit

    @property
    def pushed(self) -> int:
        return self.new + self.changed + self.refreshed

    def count(self, item: Pending) -> None:
        if item.action == "new":
            self.new += 1
        elif item.action == "changed":
            self.changed += 1
        elif item.action == "refresh":
            self.refreshed += 1
        else:
            self.deleted += 1

    def summary(self) -> str:
        """One line, e.g. `local: pushed 3 key(s) (2 new, 1 changed, 0 refreshed), deleted
        1, 0 failed, 2 request(s)`."""
        push, delete = ("would push", "would delete") if self.dry_run else ("pushed", "deleted")
        parts = [
            f"{push} {self.pushed} key(s) ({self.new} new, {self.changed} changed, "
            f"{self.refreshed} refreshed)",
            f"{delete} {self.deleted}",
            f"{len(self.failed)} failed",
        ]
        if not self.dry_run:
            parts.append(f"{self.write_requests} request(s)")
        if self.reconciled is not None:
            parts.insert(0, f"state rebuilt from {self.reconciled} key(s) in the store")
        if self.waited_s:
            parts.append(f"waited {self.waited_s:.0f} s for Cloudflare's rate limit")
        parts.append(
            "compared every key"
            if self.compared_leads is None
            else f"compared the keys of {self.compared_leads} changed lead(s)"
        )
        return f"{self.store}: " + ", ".join(parts)


class Sync:
    def __init__(
        self,
        store: KVStore,
        state: SyncState,
        *,
        ttl_s: int,
        clock: Clock,
        report: SyncReport | None = None,
        max_keys: int = MAX_BATCH_KEYS,
        max_bytes: int = MAX_BATCH_BYTES,
        retries: int = RETRIES,
    ) -> None:
        self.store = store
        self.state = state
        self.ttl_s = ttl_s
        self.clock = clock
        self.report = report or SyncReport(store.name)
        self._max_keys = max_keys
        self._max_bytes = max_bytes
        self._retries = retries

    def run(self, *, dry_run: bool = False) -> SyncReport:
        report = self.report
        report.dry_run = dry_run
        # Keys that expire within a third of their lifetime are pushed again, long before
        # the edge could lose them between two runs.
        refresh_before = self.clock.now() + self.ttl_s / 3
        within = self.state.plan(self.store.name, refresh_before)
        report.compared_leads = None if within.leads is None else len(within.leads)
        rows = self.state.diff(self.store.name, refresh_before, within)
        if dry_run:
            for row in rows:
                if (item := self._pending(row)) is not None:
                    report.count(item)
            return report
        again: list[Pending] = []
        # Closed here, not when the garbage collector gets to it: a failed request must
        # stop the read-ahead and release the diff's cursor before the state is closed.
        with closing(ahead(self._batches(rows))) as batches:
            for batch in batches:
                again += self._send(batch)
        for attempt in range(1, self._retries + 1):
            if not again:
                break
            self.clock.sleep(attempt)  # the store asked for these again: not at once
            again = self._send_all(again)
        report.failed += [
            FailedKey(p.key, f"the store reported it unsuccessful {self._retries + 1} times")
            for p in again
        ]
        if not again:
            # Every key was sent or can never be (too big: reported each time its lead
            # changes); a key left unsent keeps the next diff starting where this one did.
            self.state.advance(self.store.name, within)
        return report

    def _batches(self, rows: Iterable[DiffRow]) -> Generator[list[Pending], None, None]:
        """The diff cut into bulk requests, puts and deletes apart, each sent when full."""
        puts, deletes = self._batcher(), self._batcher()
        for row in rows:
            if (item := self._pending(row)) is None:
                continue
            if full := (deletes if item.action == "gone" else puts).add(item):
                yield full
        for rest in (puts.take(), deletes.take()):
            if rest:
                yield rest

    def _batcher(self) -> Batcher:
        return Batcher(self._max_keys, self._max_bytes)

    def _pending(self, row: DiffRow) -> Pending | None:
        if row.action == "gone":
            return Pending(row.key, row.action, None, None, wire(row.key), None)
        value = row.value or ""
        problem = entry_problem(row.key, value)
        if problem is not None:
            self.report.failed.append(FailedKey(row.key, problem))
            return None
        body = {
            "key": row.key,
            "value": value,
            "expiration_ttl": self.ttl_s,
            "metadata": {"h": row.hash},
        }
        return Pending(row.key, row.action, value, row.hash, wire(body), row.lead_id)

    def _send_all(self, items: Iterable[Pending]) -> list[Pending]:
        """Send items of either kind again, in batches; returns those still unsuccessful."""
        puts, deletes = self._batcher(), self._batcher()
        again: list[Pending] = []
        for item in items:
            if full := (deletes if item.action == "gone" else puts).add(item):
                again += self._send(full)
        for rest in (puts.take(), deletes.take()):
            if rest:
                again += self._send(rest)
        return again

    def _send(self, batch: list[Pending]) -> list[Pending]:
        """One bulk request; records what it confirmed and returns what it did not."""
        name = self.store.name
        self.report.write_requests += 1
        if batch[0].action == "gone":
            result = self.store.delete_many([p.key for p in batch])
            done = [p for p in batch if p.key not in result.unsuccessful]
            self.state.record(name, gone=[p.key for p in done])
        else:
            pushed_at = self.clock.now()  # before the store stamps its expiry: never later
            result = self.store.put_many(
                [Entry(p.key, p.value or "", self.ttl_s, {"h": p.hash}, p.wire) for p in batch]
            )
            done = [p for p in batch if p.key not in result.unsuccessful]
            expires_at = pushed_at + self.ttl_s
            self.state.record(
                name,
                pushed=[StateRow(p.key, p.hash, expires_at, pushed_at, p.lead_id) for p in done],
            )
        for p in done:
            self.report.count(p)
        return [p for p in batch if p.key in result.unsuccessful]
