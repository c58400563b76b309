"""The change-only CRM sync: the warehouse's diff upserted into HubSpot in batches, and
only what HubSpot confirmed recorded.

The diff (crm_sync/state_sql.py) holds only contacts that are new or changed; they go out
in batches of 100 (HubSpot's limit) and each batch's confirmed contacts are recorded before
the next batch is sent, so a sync stopped anywhere resumes without losing a contact and
without sending a confirmed one again. Contacts HubSpot refuses one by one (a 207 naming
them) are reported with HubSpot's message and left to the next run, their state unchanged.
A batch HubSpot refuses as a whole (400: something in one input) is halved until that input
is alone, so one bad contact never keeps the others out.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import orjson

from crm_sync.errors import CRMRefused
from crm_sync.hubspot import MAX_BATCH_INPUTS, Contact
from crm_sync.state import DiffRow, StateRow, SyncState
from kv_sync.clock import Clock


class CRM(Protocol):
    """What the sync needs of a CRM (HubSpotCRM; Salesforce comes later)."""

    @property
    def name(self) -> str: ...

    def upsert(self, contacts: list[Contact]) -> dict[str, str]: ...


@dataclass(frozen=True)
class FailedContact:
    key: str
    reason: str


@dataclass
class SyncReport:
    destination: str
    dry_run: bool = False
    new: int = 0
    changed: int = 0
    failed: list[FailedContact] = field(default_factory=list)
    requests: int = 0

    @property
    def pushed(self) -> int:
        return self.new + self.changed

    def count(self, action: str) -> None:
        if action == "new":
            self.new += 1
        else:
            self.changed += 1

    def summary(self) -> str:
        """One line, e.g. `hubspot:api.hubapi.com: pushed 3 contact(s) (2 new, 1 changed),
        0 failed, 1 request(s)`."""
        push = "would push" if self.dry_run else "pushed"
        parts = [
            f"{push} {self.pushed} contact(s) ({self.new} new, {self.changed} changed)",
            f"{len(self.failed)} failed",
        ]
        if not self.dry_run:
            parts.append(f"{self.requests} request(s)")
        return f"{self.destination}: " + ", ".join(parts)


class Pending(NamedTuple):
    key: str
    action: str
    hash: str
    properties: dict[str, str]


class Sync:
    def __init__(
        self,
        crm: CRM,
        state: SyncState,
        *,
        clock: Clock,
        batch_inputs: int = MAX_BATCH_INPUTS,
    ) -> None:
        self.crm = crm
        self.state = state
        self.clock = clock
        self.report = SyncReport(crm.name)
        self._batch_inputs = batch_inputs

    def run(self, *, dry_run: bool = False) -> SyncReport:
        report = self.report
        report.dry_run = dry_run
        # Closed here, not when the garbage collector gets to it: a failed request must
        # release the diff's cursor before the state is closed.
        with closing(self.state.diff(self.crm.name)) as rows:
            if dry_run:
                for row in rows:
                    if (item := self._pending(row)) is not None:
                        report.count(item.action)
                return report
            for batch in self._batches(rows):
                self._send(batch)
        return report

    def _batches(self, rows: Iterable[DiffRow]) -> Generator[list[Pending], None, None]:
        batch: list[Pending] = []
        for row in rows:
            if (item := self._pending(row)) is None:
                continue
            batch.append(item)
            if len(batch) >= self._batch_inputs:
                yield batch
                batch = []
        if batch:
            yield batch

    def _pending(self, row: DiffRow) -> Pending | None:
        """The row as an upsert input. A null is a property the lead has no value for
        (`oie_last_visit_at` before any visit: the mart's JSON writes it as null) and is
        not sent; a value that is not a JSON object of strings is reported (the mart's bug,
        not HubSpot's) and skipped."""
        try:
            parsed = orjson.loads(row.value)
        except orjson.JSONDecodeError:
            parsed = None
        properties = (
            {k: v for k, v in parsed.items() if v is not None} if isinstance(parsed, dict) else {}
        )
        if not properties or not all(isinstance(v, str) for v in properties.values()):
            self.report.failed.append(
                FailedContact(row.key, "crm_contacts.value is not a JSON object of strings")
            )
            return None
        return Pending(row.key, row.action, row.hash, properties)

    def _send(self, batch: list[Pending]) -> None:
        """One batch upsert; records what HubSpot confirmed, reports what it did not."""
        self.report.requests += 1
        pushed_at = self.clock.now()
        try:
            failed = self.crm.upsert([Contact(p.key, p.properties) for p in batch])
        except CRMRefused as refused:
            if refused.status != 400:
                raise
            if len(batch) == 1:
                failed = {batch[0].key: str(refused)}
            else:
                half = len(batch) // 2
                self._send(batch[:half])
                self._send(batch[half:])
                return
        done = [p for p in batch if p.key not in failed]
        self.state.record(self.crm.name, [StateRow(p.key, p.hash) for p in done], pushed_at)
        for p in done:
            self.report.count(p.action)
        self.report.failed += [
            FailedContact(p.key, failed[p.key]) for p in batch if p.key in failed
        ]
