"""The dbt project's layout, checked statically (no dbt run): layers only go down, the
visitor -> lead link is derived in one model, and every folder's one YAML describes and
tests its models (docs/warehouse.md, "Layout")."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import yaml

from oie import warehouse

MODELS = warehouse.PROJECT_DIR / "models"
SNAPSHOTS = warehouse.PROJECT_DIR / "snapshots"
SEEDS = warehouse.PROJECT_DIR / "seeds"
LAYERS = ("staging", "intermediate", "marts")  # bottom to top
REF = re.compile(r"""\bref\(\s*['"](\w+)['"]\s*\)""")
SNAPSHOT_BLOCK = re.compile(r"\{%-?\s*snapshot\s+(\w+)\s*-?%\}")
# One row per landed or refused line: these have no key, by design.
KEYLESS = {
    "stg_oie__events",
    "stg_oie__email_events",
    "stg_oie__rejected_events",
    "rejected_events",
    "edge_profile_changes",  # a change log: a lead changed twice in one run has two rows
}


@functools.cache
def _models() -> dict[str, Path]:
    return {path.stem: path for path in sorted(MODELS.rglob("*.sql"))}


def _layer(path: Path) -> str:
    return path.relative_to(MODELS).parts[0]


@functools.cache
def _yaml_models() -> dict[str, dict]:
    declared = {}
    for path in MODELS.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            declared[model["name"]] = {**model, "_folder": path.parent}
    return declared


def _test_name(test: str | dict) -> str:
    """`unique`, or `{unique: {config: ...}}`: a data test entry's name either way."""
    return test if isinstance(test, str) else next(iter(test))


@functools.cache
def _snapshots() -> dict[str, str]:
    """Snapshot name -> the layer of what it records (a snapshot sits in its source's layer)."""
    layers = {}
    for path in SNAPSHOTS.glob("*.sql"):
        text = path.read_text()
        (name,) = SNAPSHOT_BLOCK.findall(text)
        (source,) = set(REF.findall(text))
        layers[name] = _layer(_models()[source])
    assert layers, f"no snapshot found in {SNAPSHOTS}"
    return layers


def test_models_ref_only_their_own_layer_or_below() -> None:
    models = _models()
    snapshots = _snapshots()
    seeds = {path.stem for path in SEEDS.glob("*.csv")}  # the analyst's lists: below every layer
    upward = []
    for name, path in models.items():
        for ref in REF.findall(path.read_text()):
            if ref in seeds:
                continue
            if ref in snapshots:
                if LAYERS.index(snapshots[ref]) > LAYERS.index(_layer(path)):
                    upward.append(f"{name} ({_layer(path)}) refs snapshot {ref}")
                continue
            assert ref in models, f"{name} refs unknown model {ref}"
            if LAYERS.index(_layer(models[ref])) > LAYERS.index(_layer(path)):
                upward.append(f"{name} ({_layer(path)}) refs {ref} ({_layer(models[ref])})")
    assert upward == []


def test_staging_reads_sources_only() -> None:
    for name, path in _models().items():
        if _layer(path) == "staging":
            assert REF.findall(path.read_text()) == [], name


def test_the_visitor_to_lead_link_is_derived_in_one_model() -> None:
    # int_identifiers_resolved writes the rows, and reads its own stored ones to find what
    # a run touched; every other reader takes the link from int_visitor_leads
    deriving = [
        name
        for name, path in _models().items()
        if name != "int_identifiers_resolved"
        and re.search(r"identifier_type\s*=\s*'visitor'", path.read_text())
    ]
    assert deriving == ["int_visitor_leads"]


def test_one_yaml_per_folder() -> None:
    folders = {path.parent for path in MODELS.rglob("*.sql")}
    for folder in folders:
        ymls = [p.name for p in folder.glob("*.yml") if p.name != "__sources.yml"]
        assert len(ymls) == 1, (folder, ymls)


@pytest.mark.parametrize("name", sorted(_models()))
def test_every_model_is_described_in_its_folder_yaml_with_a_tested_key(name: str) -> None:
    declared = _yaml_models()
    assert name in declared, f"{name} has no YAML entry"
    model = declared[name]
    assert model["_folder"] == _models()[name].parent, f"{name} is declared in another folder"
    assert model.get("description"), f"{name} has no description"
    if name in KEYLESS:
        return
    keys = [
        column["name"]
        for column in model.get("columns") or []
        if {"unique", "not_null"} <= {_test_name(test) for test in column.get("data_tests") or []}
    ]
    composite = any(
        isinstance(test, dict) and "oie_unique_combination" in test
        for test in model.get("data_tests") or []
    )
    assert keys or composite, f"{name} has no unique + not_null key"
    for column in model.get("columns") or []:
        if column["name"] in keys:
            assert column.get("description"), f"{name}.{column['name']} (key) has no description"
