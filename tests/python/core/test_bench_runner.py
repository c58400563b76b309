"""`make bench` runs every benchmark the project has, and each of them starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import run

REPO = Path(__file__).resolve().parents[3]


def test_make_bench_runs_the_runner_over_every_benchmark_module():
    makefile = (REPO / "Makefile").read_text()
    assert ".venv/bin/python -m bench.run all" in makefile.split("\nbench:", 1)[1].split("\n\n")[0]
    modules = {
        p.stem
        for p in (REPO / "bench").glob("*.py")
        # helpers: bare_append is ingest's; scheduler_tick, raw_read and warehouse_report
        # the warehouse benchmark's; pixel_report the pixel benchmark's. mutate is
        # `make mutate`'s own (tens of minutes).
        if p.stem
        not in (
            "__init__",
            "run",
            "bare_append",
            "scheduler_tick",
            "raw_read",
            "warehouse_report",
            "pixel_report",
            "mutate",
        )
    }
    assert set(run.BENCHMARKS) == modules


def test_dry_run_lists_each_benchmark_once(capsys):
    assert run.main(["all", "ingest", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"== {name}: bench.{name}" for name in run.BENCHMARKS]


@pytest.mark.parametrize("name", run.BENCHMARKS)
def test_each_benchmark_starts(name):
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
