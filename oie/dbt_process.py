"""`oie-dbt`: the dbt process `oie` starts for a build, which keeps dbt's record of the run
(`target/run_results.json`) but not dbt's JSON copies of the parsed project
(`manifest.json`, `semantic_manifest.json`).

dbt writes manifest.json twice in every build, after the parse and again at the end, each
time through Python's pure-Python JSON encoder: about 1 s of every `oie run` on the
benchmark machine, a fifth of dbt's start-up (bench/results/dbt_startup.md). Nothing in
`oie` reads it, and a scheduled run would pay it every few minutes. `dbt parse` and `dbt docs
generate` (run as `dbt`, not through here) still write it for tools that want it.

Everything else is dbt's own command line: the same arguments, output, logs and exit codes
(0 ok, 1 a node failed, 2 dbt itself failed). `oie run --every` builds through `invoke` too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from oie.dbt_parse_cache import option_value

# The commands whose result is a run's record (dbt's RunExecutionResult).
RECORDED_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot"})
RUN_RESULTS_FILE = "run_results.json"
# What dbtRunner returns for a command line click refused (dbt.cli.exceptions), which dbt's
# own process prints and dbtRunner does not.
UNLOGGED_FAILURES = frozenset({"DbtUsageException", "DbtInternalException"})


def exit_code(result: Any) -> int:
    """A dbtRunner result as dbt's own process would exit: 0 ok, 1 a node failed, 2 dbt
    itself failed."""
    if result.exception is not None:
        return 2
    return 0 if result.success else 1


def run_results_path(args: Sequence[str]) -> Path:
    """Where dbt itself would write run_results.json: DBT_TARGET_PATH (which `oie` always
    sets, oie.warehouse.dbt_env), else the project's target/ folder."""
    target = os.environ.get("DBT_TARGET_PATH")
    if not target:
        target = str(Path(option_value(args, "--project-dir") or ".") / "target")
    return Path(target) / RUN_RESULTS_FILE


def invoke(runner: Any, args: Sequence[str]) -> int:
    """One dbt command through `runner` (a dbtRunner), without dbt's JSON copies of the
    project, writing run_results.json as dbt would; dbt's exit code."""
    result = runner.invoke([*args, "--no-write-json"])
    record = result.result
    if hasattr(record, "write") and hasattr(record, "results"):
        path = run_results_path(args)
        path.parent.mkdir(parents=True, exist_ok=True)
        record.write(str(path))
    if type(result.exception).__name__ in UNLOGGED_FAILURES:
        # dbt logs the errors of a command it ran, not a command line it refused.
        print(f"dbt: {result.exception}", file=sys.stderr)
    return exit_code(result)


def main(argv: Sequence[str] | None = None) -> int:
    from dbt.cli.main import dbtRunner

    args = list(sys.argv[1:] if argv is None else argv)
    if not RECORDED_COMMANDS.intersection(args):
        # Any other command (parse, docs generate) is for whoever reads manifest.json: `dbt`.
        print(f"oie-dbt runs dbt {', '.join(sorted(RECORDED_COMMANDS))}; use dbt", file=sys.stderr)
        return 2
    return invoke(dbtRunner(), args)


if __name__ == "__main__":
    sys.exit(main())
