"""`oie crm setup` against the HubSpot stand-in through the real client: the group and the
six properties are created once, with HubSpot's types, and a second setup creates nothing;
a property someone made with another type is left alone and said."""

from __future__ import annotations

from pathlib import Path

from crm_sync import runner
from crm_sync.properties import LEVELS, PROPERTIES
from tests.python.cli.conftest import Cli, cli_env
from tests.python.crm.support import hubspot_env, settings_for
from tests.python.helpers.hubspot_standin import HubSpotStandin

NAMES = [
    "oie_intent_score",
    "oie_engagement_level",
    "oie_score_components",
    "oie_pages_seen",
    "oie_campaign",
    "oie_last_visit_at",
]


def test_setup_twice_creates_the_group_and_six_properties_once(
    tmp_path: Path, hs: HubSpotStandin
) -> None:
    settings = settings_for(hubspot_env(tmp_path, hs))
    first = runner.setup(settings)
    assert hs.created() == ["oie", *NAMES]
    assert len(first.created) == 7 and first.existing == [] and first.mismatched == []
    assert hs.groups["oie"]["label"] == "Outbound Intent Engine"
    kinds = {n: (hs.properties[n]["type"], hs.properties[n]["fieldType"]) for n in NAMES}
    assert kinds == {
        "oie_intent_score": ("number", "number"),
        "oie_engagement_level": ("enumeration", "select"),
        "oie_score_components": ("string", "textarea"),
        "oie_pages_seen": ("string", "textarea"),
        "oie_campaign": ("string", "text"),
        "oie_last_visit_at": ("datetime", "date"),
    }
    options = hs.properties["oie_engagement_level"]["options"]
    assert [(o["value"], o["label"]) for o in options] == [
        ("cold", "Cold"),
        ("warm", "Warm"),
        ("hot", "Hot"),
        ("burning", "Burning"),
    ]
    assert {hs.properties[n]["groupName"] for n in NAMES} == {"oie"}

    hs.forget_calls()
    second = runner.setup(settings)
    assert hs.created() == []
    assert [c.method for c in hs.calls] == ["GET", "GET"]  # the group, then all properties
    assert second.created == [] and len(second.existing) == 7
    assert second.summary().endswith(": 0 created, 7 already there")


def test_a_property_made_by_hand_with_another_type_is_left_and_said(
    tmp_path: Path, hs: HubSpotStandin
) -> None:
    hs.groups["oie"] = {"name": "oie", "label": "Mine", "displayOrder": 1, "archived": False}
    hs.properties["oie_intent_score"] = {
        **hs.properties["firstname"],
        "name": "oie_intent_score",
        "groupName": "oie",
    }
    report = runner.setup(settings_for(hubspot_env(tmp_path, hs)))
    assert hs.created() == NAMES[1:]
    assert hs.properties["oie_intent_score"]["type"] == "string"
    assert report.mismatched == [
        "oie_intent_score exists as string (text), the sync sends number (number): left as "
        "it is; values HubSpot cannot read as its type will fail one by one"
    ]
    assert report.existing[0] == "property group oie (Outbound Intent Engine)"


def test_the_properties_are_the_ones_the_mart_fills() -> None:
    """The names and levels docs/crm.md and the crm_contacts contract list."""
    assert [p.name for p in PROPERTIES] == NAMES
    assert LEVELS == ("cold", "warm", "hot", "burning")


def test_oie_crm_setup_prints_what_it_created_then_what_was_there(
    tmp_path: Path, hs: HubSpotStandin
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    cli = Cli(
        cli_env(tmp_path / "data", OIE_HUBSPOT_TOKEN=hs.token, OIE_HUBSPOT_BASE_URL=hs.base_url),
        work,
    )
    first = cli("crm", "setup")
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "created property group oie (Outbound Intent Engine)"
    assert lines[1] == "created property oie_intent_score (number, number)"
    assert lines[-1].endswith(": 7 created, 0 already there")
    again = cli("crm", "setup")
    assert again.returncode == 0
    assert again.stdout.splitlines()[0] == (
        "already there: property group oie (Outbound Intent Engine)"
    )
    assert again.stdout.splitlines()[-1].endswith(": 0 created, 7 already there")
    assert hs.created() == ["oie", *NAMES]
