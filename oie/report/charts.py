"""The page's charts: Vega-Lite specs written with altair, rendered here to SVG with
vl-convert, so the page carries plain SVG and no Vega JavaScript, and loads nothing.

Text from the warehouse (campaign names, reasons) reaches the SVG only through Vega's
SVG renderer, which escapes it; `safe_svg` refuses anything that could still run or load.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import altair as alt
import vl_convert

LEVEL_COLORS = {"cold": "#6baed6", "warm": "#f2b138", "hot": "#e6550d", "burning": "#a50f15"}
COMPONENT_COLORS = {
    "recency": "#4c78a8",
    "frequency": "#72b7b2",
    "engagement": "#54a24b",
    "high_intent": "#e45756",
    "conversions": "#b279a2",
}
WIDTH = 560
# What Vega's SVG renderer writes; anything else (script, foreignObject, image, use, links)
# is refused, as are event-handler and link attributes and url(...) references.
_TAGS = {"svg", "g", "path", "rect", "text", "line", "circle", "title", "desc", "defs"}
_TAGS |= {"clipPath", "tspan", "linearGradient", "radialGradient", "stop"}
_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?!#)", re.I)  # url(#clip1) is local, fine


class UnsafeChart(RuntimeError):
    """A rendered chart held markup that could run or load something."""


def safe_svg(svg: str) -> str:
    """The SVG element alone, after checking every element and attribute of it."""
    svg = svg[svg.find("<svg") :]
    for element in ElementTree.fromstring(svg).iter():
        tag = element.tag.rpartition("}")[2]
        for name, value in element.attrib.items():
            attribute = name.rpartition("}")[2].lower()
            if attribute.startswith("on") or "href" in attribute or _REMOTE_URL.search(value):
                raise UnsafeChart(f"a chart's SVG has the attribute {attribute}: not embedded")
        if tag not in _TAGS:
            raise UnsafeChart(f"a chart's SVG has a <{tag}> element: not embedded")
    return svg


def to_svg(chart: alt.TopLevelMixin) -> str:
    # No ARIA labels per mark: they tripled the size of a line chart; the page's tables
    # carry the same numbers as text.
    spec: dict[str, Any] = chart.configure(aria=False).to_dict()
    return safe_svg(vl_convert.vegalite_to_svg(spec))


def _levels(field: str = "level") -> alt.Color:
    return alt.Color(
        f"{field}:N",
        title="level",
        scale=alt.Scale(domain=list(LEVEL_COLORS), range=list(LEVEL_COLORS.values())),
    )


def components(leads: list[dict[str, Any]]) -> str:
    """Stacked bars of the five score components, one bar per lead (the hottest first)."""
    rows = [
        {
            "lead": f"{lead['rank']}. {lead['name']}",
            "order": lead["rank"],
            "component": c,
            "points": lead[c],
        }
        for lead in leads
        for c in COMPONENT_COLORS
    ]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("lead:N", sort=alt.SortField("order"), title=None),
            x=alt.X("sum(points):Q", title="intent score points"),
            color=alt.Color(
                "component:N",
                scale=alt.Scale(
                    domain=list(COMPONENT_COLORS), range=list(COMPONENT_COLORS.values())
                ),
            ),
            order=alt.Order("component_order:Q"),
        )
        .transform_calculate(
            component_order="indexof(['recency','frequency','engagement','high_intent',"
            "'conversions'], datum.component)"
        )
        .properties(width=WIDTH - 160, height=alt.Step(16), title="Score components")
    )
    return to_svg(chart)


def _daily(
    mark: alt.Chart,
    y: alt.Y,
    title: str,
    height: int,
    color: alt.Color | None = None,
) -> str:
    """A chart over days: the x axis every daily chart of the page shares."""
    x = alt.X("day:T", title=None, axis=alt.Axis(format="%b %d"))
    encoded = mark.encode(x=x, y=y, color=color) if color is not None else mark.encode(x=x, y=y)
    return to_svg(encoded.properties(width=WIDTH, height=height, title=title))


def campaign_daily(rows: list[dict[str, Any]], name: str) -> str:
    mark = alt.Chart(alt.Data(values=rows)).mark_line()
    color = alt.Color("measure:N", title=None)
    return _daily(mark, alt.Y("count:Q", title="per day"), name, 160, color)


def histogram(rows: list[dict[str, Any]]) -> str:
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("bin:N", sort=alt.SortField("start"), title="intent score"),
            y=alt.Y("sum(leads):Q", title="leads"),
            color=_levels(),
        )
        .properties(width=WIDTH, height=180, title="Leads by intent score")
    )
    return to_svg(chart)


def level_moves(rows: list[dict[str, Any]]) -> str:
    mark = alt.Chart(alt.Data(values=rows)).mark_bar()
    y = alt.Y("sum(changes):Q", title="level changes (up > 0, down < 0)")
    return _daily(mark, y, "Level changes per day, by new level", 180, _levels())


def events_per_day(rows: list[dict[str, Any]]) -> str:
    mark = alt.Chart(alt.Data(values=rows)).mark_bar(color="#4c78a8")
    y = alt.Y("events:Q", title="events")
    return _daily(mark, y, "Events per day (by received_at)", 140)


def rejects_per_day(rows: list[dict[str, Any]]) -> str:
    mark = alt.Chart(alt.Data(values=rows)).mark_bar()
    color = alt.Color("reason:N", title="stage: reason")
    y = alt.Y("sum(rejects):Q", title="rejected")
    return _daily(mark, y, "Rejected events per day", 140, color)
