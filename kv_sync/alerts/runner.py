"""One alerts run from the settings: decide, then deliver (docs/alerts.md).

1. **Decide**: the alert points of `lead_level_episodes` (per lead and episode, the first
   version at or above OIE_ALERT_LEVEL) that the outbox does not hold yet for a destination
   go in, once: `pending`, or `stale` when the level-up is older than OIE_ALERT_MAX_AGE (so
   switching alerts on over an old history pages nobody about last month).
2. **Deliver**: each destination's pending alerts whose next attempt is due are sent, each
   outcome recorded right after its request (at least once: a crash between the request and
   the record sends it again, with the same webhook-id).

`oie alerts` and `oie run`'s alerts step both call `run`, holding the `oie run` lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from kv_sync.alerts import messages
from kv_sync.alerts.deliver import SLACK, WEBHOOK, Destination, after, attempt
from kv_sync.alerts.outbox import LogRow, Outbox
from kv_sync.alerts.sql import DELIVERED, FAILED, PENDING, STALE
from kv_sync.clock import Clock, SystemClock
from kv_sync.runner import bigquery_warehouse, check_bigquery_target
from oie_core.settings import Settings, SettingsError

Notify = Callable[[str], None]
NO_DESTINATION = (
    "no alert destination: set OIE_ALERT_SLACK_WEBHOOK_URL (a Slack incoming webhook) or "
    "OIE_ALERT_WEBHOOK_URL (n8n, Zapier, ...: signed with OIE_ALERT_WEBHOOK_SECRET)"
)


def destinations(settings: Settings) -> list[Destination]:
    found = []
    if settings.alert_slack_webhook_url:
        found.append(Destination(SLACK, settings.alert_slack_webhook_url))
    if settings.alert_webhook_url:
        found.append(
            Destination(WEBHOOK, settings.alert_webhook_url, settings.alert_webhook_secret)
        )
    return found


def check(settings: Settings) -> None:
    """Refuse, in one line (SettingsError: exit code 2), what alerts cannot start with,
    before any lock is taken or anything is read. Malformed URLs and secrets, an unknown
    OIE_ALERT_LEVEL and OIE_ALERT_MAX_ATTEMPTS < 1 are refused by Settings already."""
    if not destinations(settings):
        raise SettingsError(NO_DESTINATION)
    check_bigquery_target(settings)


@dataclass(frozen=True)
class Problem:
    channel: str
    alert_id: str
    lead_id: str
    status: str  # pending (will be retried) | failed
    error: str
    next_attempt_at: float | None = None

    def line(self) -> str:
        retry = (
            f"; next try after {messages.iso(self.next_attempt_at)}"
            if self.status == PENDING
            else ""
        )
        who = f"{self.alert_id} to {self.channel} (lead {self.lead_id})"
        return f"{self.status}: {who}: {self.error}{retry}"


@dataclass
class AlertReport:
    channels: list[str]
    dry_run: bool = False
    decided: int = 0  # new alerts decided this run, to be sent (per destination)
    stale: int = 0  # new alerts decided this run as stale (never sent)
    sent: int = 0
    pending: int = 0  # alerts still pending after this run
    failed: int = 0  # alerts that failed for good in this run
    would_send: list[str] = field(default_factory=list)  # a dry run's lines
    problems: list[Problem] = field(default_factory=list)  # this run's failed attempts

    def summary(self) -> str:
        where = "+".join(self.channels)
        stale = f", {self.stale} stale (older than OIE_ALERT_MAX_AGE: recorded, not sent)"
        if self.dry_run:
            return (
                f"{where}: would send {len(self.would_send)}, {self.pending} pending for a "
                f"later retry"
                + (stale.replace("recorded", "would be recorded") if self.stale else "")
            )
        return f"{where}: {self.sent} sent, {self.pending} pending, {self.failed} failed" + (
            stale if self.stale else ""
        )


@contextmanager
def open_outbox(
    settings: Settings, *, dry_run: bool, clock: Clock, bigquery_client: Any = None
) -> Iterator[Outbox]:
    if settings.target == "bigquery":
        from kv_sync.alerts.bigquery_outbox import BigQueryOutbox

        client, project, dataset = bigquery_warehouse(settings, bigquery_client)
        yield BigQueryOutbox(client, project, dataset, read_only=dry_run)
        return
    from kv_sync.alerts.duckdb_outbox import open_outbox as open_duckdb

    with open_duckdb(
        settings.data_dir / "warehouse.duckdb", read_only=dry_run, clock=clock
    ) as outbox:
        yield outbox


def run(
    settings: Settings,
    *,
    dry_run: bool = False,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout_s: float = 10.0,
    notify: Notify | None = None,
    bigquery_client: Any = None,
) -> AlertReport:
    check(settings)
    clock = clock or SystemClock()
    targets = destinations(settings)
    report = AlertReport([d.channel for d in targets], dry_run=dry_run)
    alert_rank = messages.LEVELS.index(settings.alert_level)
    with open_outbox(
        settings, dry_run=dry_run, clock=clock, bigquery_client=bigquery_client
    ) as outbox:
        rearm = outbox.rearm()
        if rearm is not None and alert_rank <= rearm.rank:
            raise SettingsError(
                f"OIE_ALERT_LEVEL={settings.alert_level} is not above the re-arm level "
                f"{rearm.level} (dbt var oie_alert_rearm_level): every alert would end its own "
                "episode; raise OIE_ALERT_LEVEL or lower the var"
            )
        now = clock.now()
        new = _decide(outbox, targets, alert_rank, now, settings.alert_max_age_s)
        report.decided = sum(r.status == PENDING for r in new)
        report.stale = sum(r.status == STALE for r in new)
        if dry_run:
            _dry(outbox, targets, new, now, report, notify)
            return report
        outbox.decide(new, now)
        with httpx.Client(transport=transport, timeout=timeout_s, follow_redirects=False) as client:
            for destination in targets:
                _deliver(outbox, client, destination, settings, clock, report, notify)
        report.pending = sum(
            c.alerts
            for c in outbox.counts()
            if c.status == PENDING and c.channel in report.channels
        )
    return report


def _decide(
    outbox: Outbox, targets: list[Destination], alert_rank: int, now: float, max_age_s: float
) -> list[LogRow]:
    rows = []
    for destination in targets:
        for point in outbox.points(destination.channel, alert_rank):
            body = messages.payload(point)
            stale = now - point.recorded_at > max_age_s
            rows.append(
                LogRow(
                    alert_id=body["alert_id"],
                    channel=destination.channel,
                    lead_id=point.lead_id,
                    level=point.level,
                    episode=point.episode,
                    status=STALE if stale else PENDING,
                    payload=messages.encode(body),
                    next_attempt_at=None if stale else now,
                )
            )
    return rows


def _deliver(
    outbox: Outbox,
    client: httpx.Client,
    destination: Destination,
    settings: Settings,
    clock: Clock,
    report: AlertReport,
    notify: Notify | None,
) -> None:
    for row in outbox.due(destination.channel, clock.now()):
        outcome = attempt(client, destination, row, clock.now())
        done = after(row, outcome, clock.now(), settings.alert_max_attempts)
        outbox.record(done)
        if done.status == DELIVERED:
            report.sent += 1
            if notify is not None:
                notify(f"sent to {destination.channel}: {_headline(row)} ({row.alert_id})")
            continue
        report.failed += done.status == FAILED
        report.problems.append(
            Problem(
                destination.channel,
                row.alert_id,
                row.lead_id,
                done.status,
                done.last_error or "",
                done.next_attempt_at,
            )
        )
        if outcome.temporary:
            break  # the destination is unwell: the rest wait for the next run, untried


def _dry(
    outbox: Outbox,
    targets: list[Destination],
    new: list[LogRow],
    now: float,
    report: AlertReport,
    notify: Notify | None,
) -> None:
    """What a run would send now (due alerts, then new ones) and record as stale; the
    pending ones not due yet are counted."""
    due_now = 0
    for destination in targets:
        due = outbox.due(destination.channel, now)
        due_now += len(due)
        fresh = [r for r in new if r.channel == destination.channel]
        for row in [*due, *fresh]:
            what = "would record as stale" if row.status == STALE else "would send to"
            line = f"{what} {destination.channel}: {_headline(row)} ({row.alert_id})"
            if row.status != STALE:
                report.would_send.append(line)
            if notify is not None:
                notify(line)
    waiting = sum(
        c.alerts for c in outbox.counts() if c.status == PENDING and c.channel in report.channels
    )
    report.pending = waiting - due_now


def _headline(row: LogRow) -> str:
    return messages.headline(messages.decode(row.payload))
