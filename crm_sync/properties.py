"""The contact properties the sync writes, declared once: `oie crm setup` creates them and
the sync sends exactly these names (the values come from `crm_contacts.value`, built by dbt).

Types follow HubSpot's pairs of `type` (how the value is stored) and `fieldType` (how it is
shown): a number for the score so HubSpot lists and workflows can compare it, a select for
the level so its four values are the only ones, a date-time for the last visit.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP_NAME = "oie"
GROUP_LABEL = "Outbound Intent Engine"
LEVELS = ("cold", "warm", "hot", "burning")


@dataclass(frozen=True)
class PropertySpec:
    name: str
    label: str
    type: str
    field_type: str
    description: str
    options: tuple[str, ...] = ()  # an enumeration's values (labels: the same, capitalized)


PROPERTIES: tuple[PropertySpec, ...] = (
    PropertySpec(
        "oie_intent_score",
        "Intent score",
        "number",
        "number",
        "0-100: how strongly this lead's visits to the site signal buying intent (OIE).",
    ),
    PropertySpec(
        "oie_engagement_level",
        "Engagement level",
        "enumeration",
        "select",
        "cold, warm, hot or burning: the intent score's band (OIE).",
        LEVELS,
    ),
    PropertySpec(
        "oie_score_components",
        "Score components",
        "string",
        "textarea",
        "What the intent score is made of: recency, frequency, engagement, high intent, "
        "conversions (OIE).",
    ),
    PropertySpec(
        "oie_pages_seen",
        "Pages seen",
        "string",
        "textarea",
        "The site's pages this lead viewed (OIE).",
    ),
    PropertySpec(
        "oie_campaign",
        "Campaign",
        "string",
        "text",
        "The cold-email campaign this lead came from (OIE).",
    ),
    PropertySpec(
        "oie_last_visit_at",
        "Last visit",
        "datetime",
        "date",
        "When this lead was last on the site (OIE).",
    ),
)
NAMES = frozenset(p.name for p in PROPERTIES)
