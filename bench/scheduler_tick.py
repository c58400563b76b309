"""Runs of a warm `oie run --every` process, timed: the scheduler's in-process dbt
(oie/dbt_in_process.py) runs the pipeline once as a warm-up (import and parse paid, nothing
new to load), then REPEAT times +N new events land and the next run is timed alone. Called
by bench/warehouse.py with OIE_DATA_DIR set to the benchmark's warehouse.

    python -m bench.scheduler_tick EVENTS RESULT_JSON [REPEAT]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console

from bench.warehouse import land_increment
from oie.dbt_in_process import InProcessDbt
from oie.run import RunOptions, execute
from oie_core.settings import Settings


def main() -> None:
    events, out_path = int(sys.argv[1]), Path(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    settings = Settings.from_env()
    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the process
    options = RunOptions(in_process=InProcessDbt(), quiet=True)

    def tick() -> float:
        started = time.perf_counter()
        results = execute(options, wait=False, wait_timeout=None, out=quiet, settings=settings)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise SystemExit(f"scheduled run failed at {failed[0].name}: {failed[0].detail}")
        return time.perf_counter() - started

    warm_up = tick()
    timed: list[float] = []
    for i in range(repeat):
        now = time.time()
        land_increment(settings.landing_dir, events, now - 300, now, seed=29 + 7 * (i + 1))
        timed.append(tick())
    out_path.write_text(json.dumps({"warm_up_s": warm_up, "tick_runs": timed, "events": events}))


if __name__ == "__main__":
    main()
