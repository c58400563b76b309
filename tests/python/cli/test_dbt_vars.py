"""oie.dbt_vars: the project's vars read from dbt_project.yml, `--vars` parsed as dbt parses
it, and every check that must stop a build before it starts (pure functions, no dbt)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from oie import dbt_vars
from oie.errors import EXIT_BAD_INPUT, UserError
from oie.warehouse import PROJECT_DIR

DEFAULTS = {
    "oie_as_of": None,
    "oie_level_warm": 40,
    "oie_level_hot": 60,
    "oie_level_burning": 80,
    "oie_score_total_cap": 100,
    "oie_score_frequency_cap": 20,
    "oie_score_engagement_per_pageview": 1.5,
    "oie_score_recency_tiers": [[24, 30], [72, 25]],
    "oie_internal_email_domains": [],
    "oie_some_patterns": ["%/a%"],
}


def fails(proposed: dict, defaults: dict | None = None) -> str:
    with pytest.raises(UserError) as caught:
        dbt_vars.validate(proposed, DEFAULTS if defaults is None else defaults)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_project_vars_are_read_from_dbt_project_yml_at_call_time(tmp_path: Path) -> None:
    declared = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert dbt_vars.project_vars() == declared
    assert "oie_level_hot" in declared
    (tmp_path / "dbt_project.yml").write_text("name: x\nvars:\n  only_this: 3\n")
    assert dbt_vars.project_vars(tmp_path) == {"only_this": 3}


def test_parse_vars_reads_yaml_and_json_like_dbt() -> None:
    assert dbt_vars.parse_vars('{"oie_level_hot": 55}') == {"oie_level_hot": 55}
    assert dbt_vars.parse_vars("{oie_level_hot: 55, oie_level_warm: 30.5}") == {
        "oie_level_hot": 55,
        "oie_level_warm": 30.5,
    }
    assert dbt_vars.parse_vars("oie_level_hot: 55") == {"oie_level_hot": 55}
    assert dbt_vars.parse_vars(None) == {} and dbt_vars.parse_vars("  ") == {}
    # YAML reads an unquoted timestamp as a datetime; dbt gets the vars as JSON text.
    assert dbt_vars.parse_vars("{oie_as_of: 2026-03-10T12:00:00}") == {
        "oie_as_of": "2026-03-10 12:00:00"
    }


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "55", "'oie_level_hot'"])
def test_parse_vars_rejects_what_is_not_a_mapping(text: str) -> None:
    with pytest.raises(UserError, match=r"^--vars must be a JSON object \(or a YAML mapping\)"):
        dbt_vars.parse_vars(text)


def test_valid_vars_pass_unchanged() -> None:
    proposed = {
        "oie_level_hot": 55,
        "oie_score_engagement_per_pageview": 2,
        "oie_score_recency_tiers": [[12, 30], [48, 20]],
        "oie_internal_email_domains": ["us.example"],
        "oie_as_of": "2026-03-10 12:00:00",
        "oie_offline_compile": "full",  # internal: not in dbt_project.yml, still allowed
    }
    assert dbt_vars.validate(proposed, DEFAULTS) == proposed


def test_unknown_var_is_named_with_a_suggestion() -> None:
    message = fails({"oie_level_hott": 55})
    assert message.startswith(
        "unknown dbt var 'oie_level_hott' (did you mean oie_level_hot?): "
        "dbt would silently ignore it"
    )
    assert "did you mean" not in fails({"completely_else": 1})


def test_non_numeric_value_for_a_numeric_var() -> None:
    assert fails({"oie_level_hot": "hot"}) == "oie_level_hot must be a number, got 'hot'"
    assert fails({"oie_score_total_cap": True}).startswith("oie_score_total_cap must be a number")
    assert fails({"oie_level_hot": float("nan")}).startswith("oie_level_hot must be a number")
    assert fails({"oie_level_hot": None}).startswith("oie_level_hot must be a number")


def test_lists_keep_the_default_shape() -> None:
    assert "must be a list" in fails({"oie_score_recency_tiers": 24})
    assert "[24] is not a list of 2" in fails({"oie_score_recency_tiers": [[24]]})
    assert "'x' is not a number" in fails({"oie_score_recency_tiers": [[24, "x"]]})
    assert "3 is not text" in fails({"oie_some_patterns": [3]})


@pytest.mark.parametrize(
    ("proposed", "message"),
    [
        ({"oie_level_hot": 40}, "oie_level_warm (40) must be below oie_level_hot (40)"),
        ({"oie_level_warm": 65}, "oie_level_warm (65) must be below oie_level_hot (60)"),
        ({"oie_level_hot": 85}, "oie_level_hot (85) must be below oie_level_burning (80)"),
        (
            {"oie_level_hot": 90, "oie_level_burning": 70},
            "oie_level_hot (90) must be below oie_level_burning (70)",
        ),
    ],
)
def test_levels_must_stay_in_order_with_defaults_filling_in(proposed: dict, message: str) -> None:
    assert fails(proposed).startswith(message)


def test_levels_in_order_together_pass() -> None:
    proposed = {"oie_level_warm": 10, "oie_level_hot": 20, "oie_level_burning": 30}
    assert dbt_vars.validate(proposed, DEFAULTS) == proposed


@pytest.mark.parametrize("name", ["oie_score_frequency_cap", "oie_score_total_cap"])
def test_a_cap_below_zero(name: str) -> None:
    assert fails({name: -1}) == f"{name} must be zero or more, got -1"
    assert dbt_vars.validate({name: 0}, DEFAULTS) == {name: 0}


def test_the_real_project_is_checked_by_default() -> None:
    with pytest.raises(UserError, match="unknown dbt var 'oie_level_hott'"):
        dbt_vars.check('{"oie_level_hott": 55}')
    assert dbt_vars.check("{oie_level_hot: 55}") == {"oie_level_hot": 55}


def test_project_lines_say_what_to_change() -> None:
    lines = dbt_vars.project_lines(
        {"oie_level_hot": 55, "oie_level_warm": 40, "oie_score_recency_tiers": [[12, 30]]},
        DEFAULTS,
    )
    assert lines == [
        "  oie_level_hot: 55   # was 60",
        "  oie_score_recency_tiers: [[12, 30]]   # was [[24, 30], [72, 25]]",
    ]


def test_the_total_cap_keeps_the_score_within_100() -> None:
    with pytest.raises(UserError, match="oie_score_total_cap must be at most 100"):
        dbt_vars.validate({"oie_score_total_cap": 120}, DEFAULTS)
    assert dbt_vars.validate({"oie_score_total_cap": 100}, DEFAULTS) == {"oie_score_total_cap": 100}
