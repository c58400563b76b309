"""Helpers for the tuning tests: the project's vars, a copy of the project with edited
dbt_project.yml vars (what an analyst does), and the intent score computed independently in
Python from a lead's activity columns (docs/design.md's formula)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from oie import warehouse

PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "snapshots")
SCORE_VAR = re.compile(r"^oie_(score|level)_")


def project_vars() -> dict[str, Any]:
    text = (warehouse.PROJECT_DIR / "dbt_project.yml").read_text()
    return dict(yaml.safe_load(text)["vars"])


def numeric_vars() -> dict[str, int | float]:
    return {
        name: value
        for name, value in project_vars().items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def copy_project(target: Path, edits: Mapping[str, Any]) -> Path:
    """The dbt project copied to target with each var in edits set in dbt_project.yml,
    by editing its line in place (comments kept), as an analyst would."""
    for name in PROJECT_FILES:
        source = warehouse.PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy2(source, target / name)
    shutil.copytree(warehouse.PROJECT_DIR / "tests" / "generic", target / "tests" / "generic")
    config = target / "dbt_project.yml"
    text = config.read_text()
    for name, value in edits.items():
        flow = _yaml(value)
        # a var written as a block list (the recency tiers) becomes one flow-style line
        block = re.compile(rf"^(\s+){name}:[ \t]*(#.*)?\n(?:\1\s+- .*\n)+", re.MULTILINE)
        text, count = block.subn(
            lambda m, flow=flow, name=name: f"{m.group(1)}{name}: {flow}\n", text
        )
        if not count:
            line = re.compile(rf"^(\s+{name}:[ \t]*)([^#\n]*?)([ \t]*#.*)?$", re.MULTILINE)
            text, count = line.subn(
                lambda m, flow=flow: m.group(1) + flow + (m.group(3) or ""), text
            )
        assert count == 1, f"{name} is not set once in dbt_project.yml"
    config.write_text(text)
    return target


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _half_up(value: float) -> int:
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_score(activity: Mapping[str, Any], v: Mapping[str, Any]) -> dict[str, Any]:
    """The five components, intent_score and engagement_level of one lead."""
    internal = bool(activity["is_internal_lead"])
    last: datetime | None = activity["last_activity_at"]
    as_of: datetime = activity["scored_as_of"]
    if internal or last is None:
        recency = 0.0
    else:
        millis = (as_of - last).total_seconds() * 1000
        recency = float(v["oie_score_recency_older"])
        for max_hours, points in v["oie_score_recency_tiers"]:
            if millis <= max_hours * 3_600_000:
                recency = float(points)
                break

    def capped(cap: str, total: float) -> float:
        return 0.0 if internal else min(float(v[cap]), total)

    frequency = capped(
        "oie_score_frequency_cap",
        activity["total_sessions"] * v["oie_score_frequency_per_session"],
    )
    # the lead's cursor and reading measures (int_lead_activity); none measured adds nothing
    jitter = activity.get("mean_cursor_jitter")
    above = (
        0.0
        if jitter is None
        else max(jitter - v["oie_score_engagement_jitter_threshold_degrees"], 0)
    )
    wpm = activity.get("median_reading_wpm") or 0.0
    engagement = max(
        0.0,
        capped(
            "oie_score_engagement_cap",
            activity["total_pageviews"] * v["oie_score_engagement_per_pageview"]
            + activity["total_active_s"] / 60.0 * v["oie_score_engagement_per_active_minute"]
            + activity["deep_pageviews"] * v["oie_score_engagement_per_deep_pageview"]
            + above * v["oie_score_engagement_per_jitter_degree"]
            + wpm / 100.0 * v["oie_score_engagement_per_100_reading_wpm"],
        ),
    )
    high_intent = capped(
        "oie_score_high_intent_cap",
        activity["pricing_page_visits"] * v["oie_score_high_intent_per_pricing_view"]
        + activity["case_study_views"] * v["oie_score_high_intent_per_case_study_view"]
        + activity["product_page_views"] * v["oie_score_high_intent_per_product_view"],
    )
    conversions = capped(
        "oie_score_conversions_cap",
        activity["form_submissions"] * v["oie_score_conversions_per_form_submit"]
        + activity["videos_completed"] * v["oie_score_conversions_per_video_complete"],
    )
    total = recency + frequency + engagement + high_intent + conversions
    score = min(int(v["oie_score_total_cap"]), _half_up(total))
    if score >= v["oie_level_burning"]:
        level = "burning"
    elif score >= v["oie_level_hot"]:
        level = "hot"
    elif score >= v["oie_level_warm"]:
        level = "warm"
    else:
        level = "cold"
    return {
        "score_recency": recency,
        "score_frequency": frequency,
        "score_engagement": round(engagement, 2),
        "score_high_intent": high_intent,
        "score_conversions": conversions,
        "intent_score": score,
        "engagement_level": level,
    }
