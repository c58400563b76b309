"""The SQL of hot-lead alerts, written once for DuckDB and BigQuery (the dialects of
kv_sync/state_sql.py).

`lead_level_episodes` (a dbt view) numbers each lead's score versions by episode; an alert
point is the first version of an episode at or above the alert level. The outbox
`oie_alert_log(alert_id, channel, lead_id, level, episode, status, attempts,
next_attempt_at, last_error, delivered_at, decided_at, payload)` holds one row per alert and
destination: inserted once (a MERGE that only inserts what is not there), then updated after
each delivery attempt.
"""

from __future__ import annotations

from kv_sync.state_sql import BIGQUERY, Dialect

LOG_TABLE = "oie_alert_log"
EPISODES = "lead_level_episodes"
LEAD_PROFILES = "lead_profiles"

# status of a row of the outbox
PENDING = "pending"  # decided, not delivered yet (due at next_attempt_at)
DELIVERED = "delivered"
FAILED = "failed"  # refused for good (4xx) or still failing after OIE_ALERT_MAX_ATTEMPTS
STALE = "stale"  # older than OIE_ALERT_MAX_AGE when decided: recorded, never sent
STATUSES = (PENDING, DELIVERED, FAILED, STALE)

# What an alert point carries, in this order (alerts/outbox.py reads the rows by position).
POINT_COLUMNS = (
    "lead_id",
    "episode",
    "level",
    "from_level",
    "intent_score",
    "score_recency",
    "score_frequency",
    "score_engagement",
    "score_high_intent",
    "score_conversions",
    "last_visit_at",
    "pages_seen",
    "recorded_at",
)
LEAD_COLUMNS = ("first_name", "last_name", "company", "title")
LOG_COLUMNS = (
    "alert_id",
    "channel",
    "lead_id",
    "level",
    "episode",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "delivered_at",
    "decided_at",
    "payload",
)


def _types(d: Dialect) -> tuple[str, str]:
    """(integer type, 64-bit integer type)"""
    return ("int64", "int64") if d is BIGQUERY else ("integer", "bigint")


def create_log(d: Dialect, log: str) -> str:
    integer, bigint = _types(d)
    s = d.string
    columns = (
        f"    alert_id {s} not null,\n"
        f"    channel {s} not null,\n"
        f"    lead_id {s} not null,\n"
        f"    level {s} not null,\n"
        f"    episode {bigint} not null,\n"
        f"    status {s} not null,\n"
        f"    attempts {integer} not null,\n"
        "    next_attempt_at timestamp,\n"
        f"    last_error {s},\n"
        "    delivered_at timestamp,\n"
        "    decided_at timestamp not null,\n"
        f"    payload {s} not null"
    )
    if d is BIGQUERY:
        return (
            f"create table if not exists {log} (\n{columns}\n)\ncluster by channel, status\n"
            "options (description = 'Hot-lead alerts: one row per alert and destination, "
            "decided once, delivered at least once (docs/alerts.md)')"
        )
    return f"create table if not exists {log} (\n{columns},\n    primary key (alert_id, channel)\n)"


def empty_log(d: Dialect) -> str:
    """A log relation with no rows: a dry run before the first alert reads it instead of
    creating the table."""
    _, bigint = _types(d)
    return (
        f"(select cast(null as {d.string}) as lead_id, cast(null as {bigint}) as episode, "
        f"cast(null as {d.string}) as channel limit 0)"
    )


def rearm(d: Dialect, episodes: str) -> str:
    """The re-arm level the view was built with (no row: the view is empty)."""
    return f"select rearm_level, rearm_rank from {episodes} limit 1"


def points(d: Dialect, episodes: str, profiles: str, log: str) -> str:
    """The alert points not yet decided for one destination: per lead and episode, the
    version whose level first reaches the alert level (`alert_rank`), with who the lead is
    (lead_profiles, as it is now). A suppressed lead (bounced, unsubscribed) has none."""
    rank = d.param("alert_rank")
    point = ",\n    ".join(f"episodes.{c}" for c in POINT_COLUMNS)
    lead = ",\n    ".join(f"profiles.{c}" for c in LEAD_COLUMNS)
    return f"""select
    {point},
    {lead},
    coalesce(profiles.campaign_id, episodes.campaign_id) as campaign_id
from {episodes} as episodes
left join {profiles} as profiles on episodes.lead_id = profiles.lead_id
where
    episodes.level_rank >= {rank}
    and coalesce(episodes.previous_peak_rank, -1) < {rank}
    -- bounced or unsubscribed in the email tool (docs/alerts.md): an SDR must not chase them
    and not coalesce(profiles.is_suppressed, false)
    and not exists (
        select 1
        from {log} as logged
        where
            logged.lead_id = episodes.lead_id
            and logged.episode = episodes.episode
            and logged.channel = {d.param("channel")}
    )
order by episodes.recorded_at, episodes.lead_id"""


DECIDED_FIELDS = ("alert_id", "channel", "lead_id", "level", "episode", "status")


def decide(d: Dialect, log: str) -> str:
    """Insert the decided alerts that are not in the log yet (never touches one that is):
    `now` is the decision time; each row's `next_attempt_at` is null for a stale one."""
    _, bigint = _types(d)
    if d is BIGQUERY:
        source = (
            "select\n        "
            + ",\n        ".join(f"decided.{c}" for c in (*DECIDED_FIELDS, "next_attempt_at"))
            + ",\n        decided.payload\n    from unnest(@rows) as decided"
        )
    else:
        casts = {"episode": f"{bigint}[]", "next_attempt_at": "timestamp[]"}
        source = "select\n        " + ",\n        ".join(
            f"unnest(cast(${c} as {casts.get(c, 'varchar[]')})) as {c}"
            for c in (*DECIDED_FIELDS, "next_attempt_at", "payload")
        )
    columns = ", ".join(LOG_COLUMNS)
    now = d.param("now")
    return f"""merge into {log} as logged
using (
    {source}
) as incoming
on logged.alert_id = incoming.alert_id and logged.channel = incoming.channel
when not matched then
    insert ({columns})
    values (
        incoming.alert_id, incoming.channel, incoming.lead_id, incoming.level,
        incoming.episode, incoming.status, 0, incoming.next_attempt_at, null, null,
        {now}, incoming.payload
    )"""


def record(d: Dialect, log: str) -> str:
    """One delivery attempt's outcome."""
    p = d.param
    return f"""update {log}
set
    status = {p("status")},
    attempts = {p("attempts")},
    next_attempt_at = {p("next_attempt_at")},
    last_error = {p("last_error")},
    delivered_at = {p("delivered_at")}
where alert_id = {p("alert_id")} and channel = {p("channel")}"""


def due(d: Dialect, log: str) -> str:
    """The pending alerts of one destination whose next attempt is due, oldest first."""
    columns = ", ".join(LOG_COLUMNS)
    return f"""select {columns}
from {log}
where
    channel = {d.param("channel")}
    and status = '{PENDING}'
    and next_attempt_at <= {d.param("now")}
order by next_attempt_at, alert_id"""


def counts(d: Dialect, log: str) -> str:
    """Rows per destination and status, with the earliest next attempt of each."""
    return f"""select channel, status, count(*) as alerts, min(next_attempt_at) as next_attempt_at
from {log}
group by channel, status"""
