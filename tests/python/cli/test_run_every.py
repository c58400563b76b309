"""`oie run --every`: one long-running process, dbt parsed once, the warehouse file free
between runs, and clear errors for intervals and flags that make no sense."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oie.errors import UserError
from oie.scheduler import parse_interval
from tests.python.warehouse import scenario

from .conftest import REPO, Cli

VARS = json.dumps({"oie_as_of": scenario.AS_OF})


@pytest.mark.parametrize(
    ("text", "seconds"), [("60", 60.0), ("60s", 60.0), ("5m", 300.0), ("1h", 3600.0), ("7.5s", 7.5)]
)
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [("soon", "expected a duration like 60s"), ("2s", "at least 5 s"), ("1d", "expected")],
)
def test_bad_intervals(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_interval(text)


def test_bad_flags_exit_2_before_anything_runs(cli: Cli) -> None:
    proc = cli("run", "--every", "1s")
    assert proc.returncode == 2 and "at least 5 s" in proc.stderr + proc.stdout
    proc = cli("run", "--max-runs", "2")
    assert proc.returncode == 2 and "--max-runs needs --every" in proc.stderr + proc.stdout
    assert not (cli.data_dir / "warehouse.duckdb").exists()


def test_two_runs_in_one_process_parse_once(cli: Cli) -> None:
    for batch in scenario.BATCHES:
        scenario.land_batch(cli.data_dir / "landing", batch)
    proc = cli("run", "--every", "5s", "--max-runs", "2", "--vars", VARS, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("run 1: ok in ") for line in lines), proc.stdout
    assert "run 2: starting" in lines
    (second,) = [line for line in lines if line.startswith("run 2: ") and "starting" not in line]
    assert second.startswith("run 2: ok in ") and "dbt parsed 1 time(s)" in second, second
    assert "scheduler stopped after 2 run(s): 0 failed" in proc.stdout


PROBE = textwrap.dedent(
    """
    import json, subprocess, sys
    from oie import warehouse
    from oie.dbt_in_process import InProcessDbt
    env = {"OIE_DATA_DIR": sys.argv[1]}
    dbt = InProcessDbt()
    args = warehouse.dbt_command("build", vars={"oie_as_of": sys.argv[2]},
                                 extra_args=["--exclude-resource-type", "unit_test", "--quiet"])
    first = dbt.run(args[1:], env)
    # another process may open the warehouse for writing between two runs
    probe = subprocess.run([sys.executable, "-c",
        "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('select 1')",
        sys.argv[1] + "/warehouse.duckdb"], capture_output=True, text=True)
    second = dbt.run(args[1:], env)
    print(json.dumps({"codes": [first, second], "probe": probe.returncode,
                      "probe_err": probe.stderr[-300:], "parses": dbt.parses}))
    """
)


def test_the_in_process_runner_frees_the_warehouse_between_runs(tmp_path: Path) -> None:
    for batch in scenario.BATCHES:
        scenario.land_batch(tmp_path / "landing", batch)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), scenario.AS_OF],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["codes"] == [0, 0], result
    assert result["probe"] == 0, result["probe_err"]
    assert result["parses"] == 1
