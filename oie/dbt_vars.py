"""The dbt project's vars: read from dbt_project.yml, parsed from `--vars`, checked before a build.

dbt silently ignores a var it does not know (`oie_level_hott: 55` builds with the default)
and renders whatever it is given into SQL, so `oie run --vars` and `oie tune --vars` check
the proposed vars here first: each failure is one `UserError` line (exit code 2) and nothing
is built. The list of vars is read from dbt_project.yml at call time, never written down
here, so adding or retiring a var in the project needs no change in this module.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from oie.errors import UserError
from oie.warehouse import PROJECT_DIR

# Vars the project reads that analysts never set, so dbt_project.yml leaves them out.
INTERNAL_VARS = frozenset({"oie_offline_compile"})
# The level thresholds, lowest first: each must be strictly below the next.
LEVEL_VARS = ("oie_level_warm", "oie_level_hot", "oie_level_burning")
_CAP = re.compile(r"^oie_score_(\w+_)?cap$")


def project_vars(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The vars dbt_project.yml declares, with their defaults (read now, not cached)."""
    path = project_dir / "dbt_project.yml"
    try:
        project = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read the dbt vars from {path}: {exc}".splitlines()[0]) from None
    declared = project.get("vars") or {}
    if not isinstance(declared, dict):
        raise UserError(f"{path}: `vars` is not a mapping")
    return dict(declared)


def parse_vars(text: str | None, option: str = "--vars") -> dict[str, Any]:
    """A `--vars` string read the way dbt reads it: a YAML mapping (JSON is YAML too)."""
    if text is None or not text.strip():
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UserError(f"{option} must be a JSON object (or a YAML mapping), got {text!r}")
    for key in parsed:
        if not isinstance(key, str):
            raise UserError(f"{option}: var names must be strings, got {key!r}")
    # YAML reads an unquoted 2026-03-10T12:00:00 as a datetime; dbt gets the vars as JSON.
    return {key: _jsonable(value) for key, value in parsed.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _shape_problem(name: str, value: Any, default: Any) -> str | None:
    """Why `value` cannot stand in for `default` (same kind: number, text, list of ...)."""
    if default is None:
        return None  # no default to compare with (e.g. oie_as_of, oie_raw_dataset)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        return None if ok else f"{name} must be true or false, got {value!r}"
    if _is_number(default):
        return None if _is_number(value) else f"{name} must be a number, got {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"{name} must be text, got {value!r}"
    if isinstance(default, list):
        if not isinstance(value, list):
            return f"{name} must be a list like {json.dumps(default)}, got {value!r}"
        sample = default[0] if default else None
        for item in value:
            problem = _item_problem(item, sample)
            if problem:
                return f"{name}: {problem} (expected a list like {json.dumps(default)})"
    return None


def _item_problem(item: Any, sample: Any) -> str | None:
    if sample is None:
        return None
    if _is_number(sample):
        return None if _is_number(item) else f"{item!r} is not a number"
    if isinstance(sample, str):
        return None if isinstance(item, str) else f"{item!r} is not text"
    if isinstance(sample, list):
        if not isinstance(item, list) or len(item) != len(sample):
            return f"{item!r} is not a list of {len(sample)}"
        for part, part_sample in zip(item, sample, strict=True):
            problem = _item_problem(part, part_sample)
            if problem:
                return problem
    return None


def validate(
    proposed: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check proposed vars against the project's; return them unchanged or raise UserError."""
    known = project_vars() if defaults is None else dict(defaults)
    for name in proposed:
        if name not in known and name not in INTERNAL_VARS:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UserError(
                f"unknown dbt var {name!r}{hint}: dbt would silently ignore it; "
                "the vars are listed in dbt_project.yml"
            )
    for name, value in proposed.items():
        if name in INTERNAL_VARS:
            continue
        problem = _shape_problem(name, value, known[name])
        if problem:
            raise UserError(problem)
    for name, value in proposed.items():
        if _CAP.match(name) and _is_number(value) and value < 0:
            raise UserError(f"{name} must be zero or more, got {value!r}")
        # the score is 0-100 by contract (dashboards, alerts and the edge read it so)
        if name == "oie_score_total_cap" and _is_number(value) and value > 100:
            raise UserError(f"{name} must be at most 100 (the score is 0-100), got {value!r}")
    merged = {**known, **proposed}
    levels: list[tuple[str, Any]] = [(name, merged[name]) for name in LEVEL_VARS if name in merged]
    for (low, low_value), (high, high_value) in itertools.pairwise(levels):
        if _is_number(low_value) and _is_number(high_value) and low_value >= high_value:
            raise UserError(
                f"{low} ({low_value}) must be below {high} ({high_value}): "
                "levels need oie_level_warm < oie_level_hot < oie_level_burning"
            )
    return dict(proposed)


def check(text: str | None, option: str = "--vars") -> dict[str, Any]:
    """Parse and validate a `--vars` string in one step."""
    return validate(parse_vars(text, option))


def yaml_value(value: Any) -> str:
    """A value as it is written on one line of dbt_project.yml (YAML flow style)."""
    return json.dumps(value)


def project_lines(
    proposed: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> list[str]:
    """The dbt_project.yml lines to change, e.g. `  oie_level_hot: 55   # was 60`."""
    known = project_vars() if defaults is None else dict(defaults)
    lines = []
    for name, value in proposed.items():
        if name in INTERNAL_VARS or name not in known or known[name] == value:
            continue
        lines.append(f"  {name}: {yaml_value(value)}   # was {yaml_value(known[name])}")
    return lines
