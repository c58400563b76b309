"""Every example of docs/warehouse.md's "Tuning the score" section, executed as written on
the labelled scenario: the preview, the one-off tuned build, the dbt_project.yml lines and
the scheduled build."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from oie import warehouse
from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

DOC = warehouse.PROJECT_DIR / "docs" / "warehouse.md"
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def section_blocks() -> list[tuple[str, str]]:
    text = DOC.read_text()
    start = text.index("\n## Tuning the score\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end > 0 else len(text)]
    blocks = []
    for indent, language, body in FENCE.findall(section):
        lines = [line.removeprefix(indent) for line in body.splitlines()]
        blocks.append((language, "\n".join(lines)))
    return blocks


def commands(prefix: str) -> list[list[str]]:
    found = []
    for language, body in section_blocks():
        if language == "bash":
            for line in body.splitlines():
                if line.startswith(prefix):
                    found.append(shlex.split(line))
    return found


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("tuning-docs")
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    assert build_data(data_dir, vars={"oie_as_of": scenario.AS_OF}) == 0
    return data_dir


def _run(argv: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name(argv[0])
    args = [str(tool), *argv[1:]]
    if argv[0] == "dbt":
        project = str(warehouse.PROJECT_DIR)
        args += ["--project-dir", project, "--profiles-dir", project]
    env = warehouse.dbt_env({"OIE_DATA_DIR": str(data_dir)})
    return subprocess.run(
        args, cwd=warehouse.PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )


def _statuses(data_dir: Path) -> dict[str, str]:
    run = json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in run["results"]}


def test_the_section_has_each_kind_of_example() -> None:
    assert len(commands("oie tune ")) == 1
    assert len(commands("dbt build")) == 2
    assert [lang for lang, _ in section_blocks()].count("yaml") == 1


def test_the_preview_example_runs_and_writes_nothing(scenario_dir: Path) -> None:
    (argv,) = commands("oie tune ")
    db = scenario_dir / "warehouse.duckdb"
    before = db.read_bytes()
    done = _run(argv, scenario_dir)
    assert done.returncode == 0, done.stderr
    assert "hot" in done.stdout and "oie_level_hot: 55" in done.stdout
    assert db.read_bytes() == before


def test_the_dbt_build_examples_rebuild_every_mart(scenario_dir: Path) -> None:
    for argv in commands("dbt build"):
        done = _run(argv, scenario_dir)
        assert done.returncode == 0, done.stdout[-3000:]
        statuses = _statuses(scenario_dir)
        marts = {p.stem for p in (warehouse.PROJECT_DIR / "models" / "marts").rglob("*.sql")}
        built = {n.split(".")[-1] for n, s in statuses.items() if n.startswith("model.")}
        assert marts <= built, (argv, marts - built)
        # the report's exposure is listed with status "no-op": there is nothing to run
        ran = {n: s for n, s in statuses.items() if not n.startswith("exposure.")}
        assert all(s in ("success", "pass") for s in ran.values()), argv
        assert {s for n, s in statuses.items() if n.startswith("exposure.")} <= {"no-op"}, argv
        unit_tests = [n for n in statuses if n.startswith("unit_test.")]
        assert bool(unit_tests) == ("unit_test" not in argv), argv


def test_the_dbt_project_yml_lines_are_real_vars_the_preview_accepts(scenario_dir: Path) -> None:
    (body,) = [b for lang, b in section_blocks() if lang == "yaml"]
    proposed = yaml.safe_load(body)
    declared = yaml.safe_load((warehouse.PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert set(proposed) <= set(declared)
    done = _run(["oie", "tune", "--vars", json.dumps(proposed)], scenario_dir)
    assert done.returncode == 0, done.stderr
    # the preview prints the very lines the doc shows an analyst to paste
    for name, value in proposed.items():
        assert re.search(rf"{name}: {value}\b", done.stdout), name


def test_the_example_vars_are_valid_for_oie_run() -> None:
    from oie import dbt_vars

    for argv in commands("dbt build --vars") + commands("oie tune --vars"):
        text = argv[argv.index("--vars") + 1]
        assert dbt_vars.check(text) == yaml.safe_load(text)
