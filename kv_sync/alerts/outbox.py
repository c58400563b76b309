"""The outbox of hot-lead alerts: the protocol over the warehouse table `oie_alert_log`
(alerts/sql.py has its SQL; duckdb_outbox.py and bigquery_outbox.py run it) and the rows
that go in and out of it. Times are epoch seconds (UTC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

COMPONENTS = ("recency", "frequency", "engagement", "high_intent", "conversions")


@dataclass(frozen=True)
class AlertPoint:
    """A lead's first version of an episode at or above the alert level, and who it is."""

    lead_id: str
    episode: int
    level: str
    from_level: str
    intent_score: int | None
    components: dict[str, float | None]
    last_visit_at: float | None
    pages_seen: str | None
    recorded_at: float
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    campaign_id: str | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AlertPoint:
        """A row of alerts/sql.py `points` (POINT_COLUMNS, LEAD_COLUMNS, campaign_id)."""
        (lead_id, episode, level, from_level, score, *parts) = row[:10]
        last_visit_at, pages_seen, recorded_at = row[10:13]
        first_name, last_name, company, title, campaign_id = row[13:18]
        return cls(
            lead_id=lead_id,
            episode=int(episode),
            level=level,
            from_level=from_level,
            intent_score=None if score is None else int(score),
            components=dict(zip(COMPONENTS, parts, strict=True)),
            last_visit_at=epoch(last_visit_at),
            pages_seen=pages_seen,
            recorded_at=epoch(recorded_at) or 0.0,
            first_name=first_name,
            last_name=last_name,
            company=company,
            title=title,
            campaign_id=campaign_id,
        )


@dataclass(frozen=True)
class LogRow:
    """One alert for one destination (`channel`: slack or webhook), as the outbox holds it."""

    alert_id: str
    channel: str
    lead_id: str
    level: str
    episode: int
    status: str
    payload: str
    attempts: int = 0
    next_attempt_at: float | None = None
    last_error: str | None = None
    delivered_at: float | None = None
    decided_at: float | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> LogRow:
        """A row in alerts/sql.py LOG_COLUMNS order."""
        (alert_id, channel, lead_id, level, episode, status, attempts) = row[:7]
        next_attempt_at, last_error, delivered_at, decided_at, payload = row[7:12]
        return cls(
            alert_id=alert_id,
            channel=channel,
            lead_id=lead_id,
            level=level,
            episode=int(episode),
            status=status,
            payload=payload,
            attempts=int(attempts),
            next_attempt_at=epoch(next_attempt_at),
            last_error=last_error,
            delivered_at=epoch(delivered_at),
            decided_at=epoch(decided_at),
        )

    def but(self, **changes: Any) -> LogRow:
        return replace(self, **changes)


@dataclass(frozen=True)
class Count:
    channel: str
    status: str
    alerts: int
    next_attempt_at: float | None = None


@dataclass(frozen=True)
class Rearm:
    """The re-arm level the episodes view was built with (dbt var oie_alert_rearm_level)."""

    level: str
    rank: int


class Outbox(Protocol):
    def rearm(self) -> Rearm | None:
        """None while the view has no row (nothing was scored yet)."""
        ...

    def points(self, channel: str, alert_rank: int) -> list[AlertPoint]:
        """Alert points not yet decided for this destination."""
        ...

    def decide(self, rows: Sequence[LogRow], now: float) -> None:
        """Insert the rows whose (alert_id, channel) is not in the log yet (one statement)."""
        ...

    def due(self, channel: str, now: float) -> list[LogRow]: ...

    def record(self, row: LogRow) -> None:
        """One delivery attempt's outcome: status, attempts, next attempt, error, delivery."""
        ...

    def counts(self) -> list[Count]: ...


def epoch(value: Any) -> float | None:
    """A warehouse timestamp as epoch seconds: DuckDB's are naive UTC, BigQuery's aware."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.timestamp()
    return float(value)


def utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def naive(seconds: float | None) -> datetime | None:
    """DuckDB's TIMESTAMP holds UTC without a zone."""
    value = utc(seconds)
    return None if value is None else value.replace(tzinfo=None)
