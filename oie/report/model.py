"""The page's data, from the query rows: what each section shows, its note when it has
nothing to show ("no visits yet", "not recorded yet"), the series its charts draw, and the
JSON the page's script reads (the top leads and their timelines).

Nothing that identifies a person beyond what the SDR's call list shows goes into the page:
no email, email hash, token, visitor id, lead id or IP. The script keys leads by their row.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from oie.report import queries
from oie.report.queries import Raw, Row

NO_VISITS = "no visits yet"
NOT_RECORDED = "not recorded yet"
LEVELS = ("cold", "warm", "hot", "burning")
COMPONENTS = ("recency", "frequency", "engagement", "high_intent", "conversions")
WINDOW_DAYS = 30
# Shown pages of one session on the page (the mart keeps up to 20).
SESSION_PAGES = 5
# Columns of the Hot now rows in the page's JSON, in this order.
LEAD_FIELDS = (
    "rank",
    "name",
    "company",
    "title",
    "campaign_id",
    "campaign",
    "score",
    "level",
    *COMPONENTS,
    "last_visit_at",
    "pages_seen",
    "suppressed",  # bounced or unsubscribed in the email tool: shown, marked, not to contact
)


@dataclass
class Fact:
    label: str
    value: str
    note: str = ""


@dataclass
class Page:
    generated_at: str
    target: str
    limit: int
    campaign: str | None
    as_of: str | None
    no_visits: bool
    relations: set[str] = field(default_factory=set)
    notes: dict[str, str | None] = field(default_factory=dict)  # section id -> note
    hot_total: int = 0
    data: dict[str, Any] = field(default_factory=dict)  # the script's JSON
    campaigns: list[dict[str, str]] = field(default_factory=list)
    daily: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # name -> rows
    histogram: list[dict[str, Any]] = field(default_factory=list)
    moves: list[dict[str, Any]] = field(default_factory=list)
    move_totals: list[tuple[str, int]] = field(default_factory=list)
    events_per_day: list[dict[str, Any]] = field(default_factory=list)
    rejects_per_day: list[dict[str, Any]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    @property
    def shown(self) -> int:
        return len(self.data.get("leads", []))


def _name(first: Any, last: Any) -> str:
    return " ".join(str(p) for p in (first, last) if p) or "(no name)"


def _pages(text: Any, keep: int = SESSION_PAGES) -> str:
    pages = [p for p in str(text or "").split(", ") if p]
    more = f" +{len(pages) - keep}" if len(pages) > keep else ""
    return ", ".join(pages[:keep]) + more


def _parse(moment: str) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _percent(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.0f} %"


def _shown_time(moment: Any) -> str:
    return str(moment)[:16].replace("T", " ") + " UTC" if moment else "-"


def build(raw: Raw, *, limit: int, target: str, now: datetime | None = None) -> Page:
    clock = now or datetime.now(UTC)
    events = raw.events
    page = Page(
        generated_at=clock.strftime("%Y-%m-%d %H:%M UTC"),
        target=target,
        limit=limit,
        campaign=raw.campaign,
        as_of=raw.as_of,
        no_visits=events is not None and int(events[1]) == 0,
        relations=raw.relations,
    )
    # The day the 30-day windows end: the scoring clock, else the newest event, else today.
    anchor = (raw.as_of or (events[0] if events else None) or clock.strftime("%Y-%m-%d"))[:10]
    end = date.fromisoformat(anchor)
    _hot(page, raw)
    _campaigns(page, raw, end)
    _scores(page, raw, end)
    _health(page, raw, end)
    return page


def _note(page: Page, present: bool) -> str | None:
    if not present:
        return NOT_RECORDED
    return NO_VISITS if page.no_visits else None


def _hot(page: Page, raw: Raw) -> None:
    page.notes["hot"] = _note(page, raw.hot is not None)
    page.notes["timeline"] = _note(page, raw.hot is not None and "sessions" in raw.relations)
    page.hot_total = raw.hot_total
    if page.notes["hot"] or not raw.hot:
        if page.notes["hot"] is None:
            page.notes["hot"] = page.notes["timeline"] = "no hot leads yet"
        page.data = {"leads": [], "timelines": []}
        return
    index: dict[str, int] = {}
    leads: list[list[Any]] = []
    for row in raw.hot:
        values = dict(zip((*queries.HOT_COLUMNS, "lead_id"), row, strict=True))
        index[str(values["lead_id"])] = len(leads)
        leads.append(
            [
                values["priority_rank"],
                _name(values["first_name"], values["last_name"]),
                values["company"],
                values["title"],
                values["campaign_id"],
                values["campaign_name"] or values["campaign_id"],
                values["intent_score"],
                values["engagement_level"],
                *(round(float(values[f"score_{c}"] or 0), 2) for c in COMPONENTS),
                values["last_visit_at"],
                values["pages_seen"],
                bool(values["is_suppressed"]),
            ]
        )
    timelines: list[dict[str, Any]] = [
        {"sessions": [], "sessions_total": 0, "clicks": [], "clicks_total": 0, "identity": []}
        for _ in leads
    ]

    def add(rows: list[Row], key: str, width: int) -> None:
        for row in rows:
            entry = timelines[index[str(row[0])]]
            values = list(row[1 : 1 + width])
            if key == "sessions":
                values[-1] = _pages(values[-1])
            entry[key].append(values)
            if key != "identity":
                entry[f"{key}_total"] = row[1 + width]

    add(raw.sessions, "sessions", len(queries.SESSION_COLUMNS))
    add(raw.clicks, "clicks", len(queries.CLICK_COLUMNS))
    add(raw.identity, "identity", len(queries.IDENTITY_COLUMNS))
    page.data = {
        "lead_fields": list(LEAD_FIELDS),
        "session_fields": list(queries.SESSION_COLUMNS),
        "click_fields": list(queries.CLICK_COLUMNS),
        "identity_fields": list(queries.IDENTITY_COLUMNS),
        "per_lead": queries.PER_LEAD,
        "leads": leads,
        "timelines": timelines,
    }


def _campaigns(page: Page, raw: Raw, end: date) -> None:
    page.notes["campaigns"] = _note(page, raw.campaigns is not None)
    gaps: dict[str, list[float]] = defaultdict(list)
    for campaign_id, clicked, visited in raw.click_to_visit or []:
        gap = (_parse(visited) - _parse(clicked)).total_seconds()
        if gap >= 0:  # a visit before the first click was not brought by it
            gaps[str(campaign_id)].append(gap)
    medians = {k: statistics.median(v) for k, v in gaps.items()}
    names: dict[str, str] = {}
    for row in raw.campaigns or []:
        v = dict(zip(queries.CAMPAIGN_COLUMNS, row, strict=True))
        names[str(v["campaign_id"])] = str(v["campaign_name"] or v["campaign_id"])
        page.campaigns.append(
            {
                "name": names[str(v["campaign_id"])],
                "id": str(v["campaign_id"]),
                **{c: str(v[c] if v[c] is not None else 0) for c in queries.CAMPAIGN_COLUMNS[2:12]},
                "avg_intent_score": f"{float(v['avg_intent_score'] or 0):.1f}",
                "click_rate": _percent(v["click_rate"]),
                "form_conversion_rate": _percent(v["form_conversion_rate"]),
                "median_click_to_visit": duration(medians.get(str(v["campaign_id"]))),
            }
        )
    start = (end - timedelta(days=WINDOW_DAYS - 1)).isoformat()
    for row in raw.daily or []:
        v = dict(zip(queries.DAILY_COLUMNS, row, strict=True))
        if str(v["day"]) < start:
            continue
        name = names.get(str(v["campaign_id"]), str(v["campaign_id"]))
        for measure in ("clicks", "visits", "sessions", "form_submissions"):
            page.daily.setdefault(name, []).append(
                {"day": v["day"], "measure": measure, "count": int(v[measure] or 0)}
            )


def _scores(page: Page, raw: Raw, end: date) -> None:
    page.notes["scores"] = _note(page, raw.score_counts is not None)
    bins: Counter[tuple[int, str]] = Counter()
    for level, score, leads in raw.score_counts or []:
        bins[(min(int(score) // 10, 9), str(level))] += int(leads)
    page.histogram = [
        {"bin": f"{b * 10}-{b * 10 + (10 if b == 9 else 9)}", "start": b, "level": lvl, "leads": n}
        for (b, lvl), n in sorted(bins.items())
    ]
    start = (end - timedelta(days=WINDOW_DAYS - 1)).isoformat()
    rank = {level: i for i, level in enumerate(LEVELS)}
    totals: Counter[str] = Counter()
    for day, from_level, to_level, changes in raw.level_changes or []:
        if not start <= str(day) <= end.isoformat():
            continue
        up = rank.get(str(to_level), 0) > rank.get(str(from_level), 0)
        page.moves.append(
            {
                "day": day,
                "level": to_level,
                "direction": "up" if up else "down",
                "changes": int(changes) if up else -int(changes),
            }
        )
        totals[f"{from_level} → {to_level}"] += int(changes)
    page.move_totals = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def _health(page: Page, raw: Raw, end: date) -> None:
    page.notes["health"] = _note(page, raw.events is not None)
    # Data health looks at the newest data, which may be newer than the scoring clock.
    days = [str(r[0]) for r in [*(raw.events_per_day or []), *(raw.rejects_per_day or [])] if r[0]]
    newest = max([end.isoformat(), *days])
    start = (date.fromisoformat(newest) - timedelta(days=WINDOW_DAYS - 1)).isoformat()
    if raw.events is not None:
        last, count = raw.events
        page.facts.append(
            Fact("Last event received", _shown_time(last), f"{int(count):,} events in total")
        )
    else:
        page.facts.append(Fact("Last event received", NOT_RECORDED))
    page.events_per_day = [
        {"day": day, "events": int(n)}
        for day, n in raw.events_per_day or []
        if day and str(day) >= start
    ]
    rejects: Counter[tuple[str, str]] = Counter()
    for day, stage, reason, n in raw.rejects_per_day or []:
        if day and str(day) >= start:
            code = str(reason or "unknown").split(":", 1)[0]
            rejects[(str(day), f"{stage or '?'}: {code}")] += int(n)
    page.rejects_per_day = [
        {"day": day, "reason": reason, "rejects": n} for (day, reason), n in sorted(rejects.items())
    ]
    total_rejects = sum(int(r[3]) for r in raw.rejects_per_day or [])
    page.facts.append(
        Fact(
            "Rejected events",
            NOT_RECORDED if raw.rejects_per_day is None else f"{total_rejects:,} in total",
        )
    )
    if queries.BUILD_LOG not in raw.relations:
        page.facts.append(Fact("Last dbt build", NOT_RECORDED))
    elif raw.build is None:
        page.facts.append(Fact("Last dbt build", "none recorded"))
    else:
        invocation, started, finished, status = raw.build
        page.facts.append(
            Fact(
                "Last dbt build",
                f"{status or 'unknown'}, {_shown_time(finished or started)}",
                f"invocation {invocation}; {raw.builds or 0} build(s) recorded",
            )
        )
    if raw.kv is None:
        page.facts.append(Fact("Last KV push", NOT_RECORDED))
    elif not raw.kv:
        page.facts.append(Fact("Last KV push", "nothing pushed yet"))
    for store, pushed, keys in raw.kv or []:
        page.facts.append(
            Fact(f"Last KV push ({store})", _shown_time(pushed), f"{int(keys):,} key(s) confirmed")
        )
    if raw.alerts is None:
        page.facts.append(Fact("Alerts", NOT_RECORDED))
    else:
        counts = {str(status): int(n) for status, n in raw.alerts}
        page.facts.append(
            Fact(
                "Alerts",
                f"{counts.get('pending', 0)} pending, {counts.get('failed', 0)} failed",
                f"{counts.get('delivered', 0)} delivered, {counts.get('stale', 0)} stale",
            )
        )
