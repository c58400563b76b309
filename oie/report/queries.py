"""The report's SQL: one text for DuckDB and BigQuery.

Only what both engines read the same way: plain SELECTs, `cast(x as date)`, window
functions in a subquery, GROUP BY ordinals, LIMIT. Anything that differs (medians,
timestamp differences, string splitting, date windows) is done in Python on small,
already aggregated results. Relation names go through `Source.table`; the one value
inlined in SQL, a campaign id, is checked against the campaigns the warehouse holds and
against a strict pattern first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.markup import escape

from oie.errors import UserError
from oie.report.source import Row, Source

# At most this many of a lead's newest sessions, clicks and identity rows go on the page.
PER_LEAD = 20

HOT_COLUMNS = (
    "priority_rank",
    "first_name",
    "last_name",
    "company",
    "title",
    "campaign_id",
    "campaign_name",
    "intent_score",
    "engagement_level",
    "score_recency",
    "score_frequency",
    "score_engagement",
    "score_high_intent",
    "score_conversions",
    "last_visit_at",
    "pages_seen",
    "is_suppressed",
)
SESSION_COLUMNS = (
    "started_at",
    "duration_s",
    "active_s",
    "entry_page",
    "exit_page",
    "pageviews",
    "max_scroll_depth",
    "forms_submitted",
    "videos_played",
    "device",
    "browser",
    "country",
    "engagement_score",
    "pages_seen",
)
CLICK_COLUMNS = ("clicked_at", "is_scanner")
IDENTITY_COLUMNS = (
    "identifier_type",
    "match_type",
    "confidence",
    "is_linked",
    "is_forwarded",
    "first_seen_at",
)
CAMPAIGN_COLUMNS = (
    "campaign_id",
    "campaign_name",
    "leads",
    "email_clicks",
    "scanner_clicks",
    "leads_clicked",
    "leads_visited",
    "sessions",
    "hot_leads",
    "burning_leads",
    "leads_submitted_form",
    "forwarded_tokens",
    "avg_intent_score",
    "click_rate",
    "form_conversion_rate",
)
DAILY_COLUMNS = (
    "campaign_id",
    "day",
    "clicks",
    "scanner_clicks",
    "visits",
    "sessions",
    "form_submissions",
    "leads_reached_hot",
)
BUILD_LOG = "oie_build_log"
KV_STATE = "kv_sync_state"
ALERT_LOG = "oie_alert_log"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:@ /-]{1,200}$")


@dataclass
class Raw:
    """Everything the page shows, as rows; a missing relation is `None`."""

    relations: set[str]
    campaign: str | None = None  # the campaign id the report is limited to
    events: Row | None = None  # (last received_at, events)
    as_of: str | None = None  # newest scored_as_of
    hot_total: int = 0
    hot: list[Row] | None = None  # HOT_COLUMNS + lead_id
    sessions: list[Row] = field(default_factory=list)  # lead_id, SESSION_COLUMNS, total
    clicks: list[Row] = field(default_factory=list)  # lead_id, CLICK_COLUMNS, total
    identity: list[Row] = field(default_factory=list)  # lead_id, IDENTITY_COLUMNS
    campaigns: list[Row] | None = None
    daily: list[Row] | None = None
    click_to_visit: list[Row] | None = None  # campaign_id, first_click_at, first_visit_at
    score_counts: list[Row] | None = None  # engagement_level, intent_score, leads
    level_changes: list[Row] | None = None  # day, from_level, to_level, changes
    events_per_day: list[Row] | None = None  # day, events
    rejects_per_day: list[Row] | None = None  # day, stage, reason, rejects
    build: Row | None = None
    builds: int | None = None
    kv: list[Row] | None = None  # store, last pushed_at, keys
    alerts: list[Row] | None = None  # status, alerts


def _literal(value: str) -> str:
    if not _SAFE_ID.match(value):
        raise UserError(f"campaign id {escape(value)!r} cannot be used as a filter")
    return f"'{value}'"


def resolve_campaign(source: Source, relations: set[str], wanted: str | None) -> str | None:
    """The campaign id `wanted` names (an id or a name), or exit 2 naming the known ones."""
    if wanted is None:
        return None
    known: list[Row] = []
    for name in ("campaign_performance", "lead_profiles"):
        if name in relations:
            known = source.rows(
                f"select distinct campaign_id, campaign_name from {source.table(name)} "
                "where campaign_id is not null order by 1"
            )
            break
    for campaign_id, campaign_name in known:
        if wanted in (campaign_id, campaign_name):
            return str(campaign_id)
    shown = ", ".join(str(r[0]) for r in known[:10]) or "none yet"
    raise UserError(f"unknown campaign {escape(wanted)!r}; campaigns: {escape(shown)}")


def collect(source: Source, *, limit: int, campaign: str | None) -> Raw:
    """Run every query of the page; missing relations stay `None`."""
    relations = source.relations()
    raw = Raw(relations=relations, campaign=resolve_campaign(source, relations, campaign))
    t = source.table
    where = f"where campaign_id = {_literal(raw.campaign)}" if raw.campaign else ""
    also = f"and campaign_id = {_literal(raw.campaign)}" if raw.campaign else ""

    if "events" in relations:
        raw.events = source.rows(f"select max(received_at), count(*) from {t('events')}")[0]
        raw.events_per_day = source.rows(
            f"select cast(received_at as date), count(*) from {t('events')} group by 1 order by 1"
        )
    if "lead_profiles" in relations:
        raw.as_of = source.rows(f"select max(scored_as_of) from {t('lead_profiles')}")[0][0]
        raw.score_counts = source.rows(
            f"select engagement_level, intent_score, count(*) from {t('lead_profiles')} "
            f"{where} group by 1, 2 order by 2"
        )
        raw.click_to_visit = source.rows(
            f"select campaign_id, first_click_at, first_visit_at from {t('lead_profiles')} "
            f"where first_click_at is not null and first_visit_at is not null {also}"
        )
    if "high_intent_leads" in relations:
        _hot(source, raw, limit, where)
    if "campaign_performance" in relations:
        raw.campaigns = source.rows(
            f"select {', '.join(CAMPAIGN_COLUMNS)} from {t('campaign_performance')} {where} "
            "order by hot_leads desc, leads desc, campaign_id"
        )
    if "campaign_daily" in relations:
        raw.daily = source.rows(
            f"select {', '.join(DAILY_COLUMNS)} from {t('campaign_daily')} {where} "
            "order by campaign_id, day"
        )
    if "lead_level_changes" in relations:
        raw.level_changes = source.rows(
            f"select cast(changed_at as date), from_level, to_level, count(*) "
            f"from {t('lead_level_changes')} {where} group by 1, 2, 3 order by 1, 2, 3"
        )
    if "rejected_events" in relations:
        raw.rejects_per_day = source.rows(
            f"select cast(received_at as date), stage, reason, count(*) "
            f"from {t('rejected_events')} group by 1, 2, 3 order by 1, 2, 3"
        )
    _operations(source, raw)
    return raw


def _hot(source: Source, raw: Raw, limit: int, where: str) -> None:
    t = source.table
    raw.hot_total = int(source.rows(f"select count(*) from {t('high_intent_leads')} {where}")[0][0])
    raw.hot = source.rows(
        f"select {', '.join(HOT_COLUMNS)}, lead_id from {t('high_intent_leads')} {where} "
        f"order by priority_rank limit {int(limit)}"
    )
    if not raw.hot:
        return
    top = (
        f"(select lead_id from {t('high_intent_leads')} {where} "
        f"order by priority_rank limit {int(limit)})"
    )

    def newest(relation: str, columns: tuple[str, ...], order: str) -> list[Row]:
        if relation not in raw.relations:
            return []
        inner = ", ".join(f"x.{c}" for c in columns)
        return source.rows(
            f"select lead_id, {', '.join(columns)}, total from ("
            f"select x.lead_id, {inner}, "
            f"row_number() over (partition by x.lead_id order by {order}) as n, "
            f"count(*) over (partition by x.lead_id) as total "
            f"from {t(relation)} as x inner join {top} as top on x.lead_id = top.lead_id"
            f") as ranked where n <= {PER_LEAD} order by lead_id, n"
        )

    raw.sessions = newest("sessions", SESSION_COLUMNS, "x.started_at desc, x.session_id")
    raw.clicks = newest("email_clicks", CLICK_COLUMNS, "x.clicked_at desc, x.event_id")
    raw.identity = newest(
        "identity_map", IDENTITY_COLUMNS, "x.confidence desc, x.first_seen_at, x.identity_key"
    )


def _operations(source: Source, raw: Raw) -> None:
    """The rows of Data health that come from operational tables, when they exist."""
    t = source.table
    if BUILD_LOG in raw.relations:
        found = source.rows(
            f"select invocation_id, started_at, finished_at, status from {t(BUILD_LOG)} "
            "order by started_at desc limit 1"
        )
        raw.build = found[0] if found else None
        raw.builds = int(source.rows(f"select count(*) from {t(BUILD_LOG)}")[0][0])
    if KV_STATE in raw.relations:
        raw.kv = source.rows(
            f"select store, max(pushed_at), count(*) from {t(KV_STATE)} group by 1 order by 1"
        )
    if ALERT_LOG in raw.relations:
        raw.alerts = source.rows(
            f"select status, count(*) from {t(ALERT_LOG)} group by 1 order by 1"
        )
