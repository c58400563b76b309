"""dbt inside a long-running `oie run --every` process: the project is parsed once and
every later build reuses the manifest, so a scheduled run pays neither Python's import of
dbt (≈ 3.5 s here) nor the parse (bench/results/warehouse.md).

One-shot `oie run` keeps dbt in a subprocess (oie.warehouse.dbt_build): nothing is gained
there, and a crash stays dbt's. Here a Python exception inside dbt is caught and reported
as a failed build; a hard crash ends the scheduler, which a supervisor (systemd, Cloud Run)
restarts, and the next run catches up like after any failed run.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oie import dbt_process, warehouse
from oie.dbt_parse_cache import keep_only_this_projects_parse, option_value

# What the parse depends on: a change to any of these (a deploy, an edited seed) means
# the next build parses again instead of running yesterday's SQL.
PROJECT_INPUTS = ("models", "macros", "seeds", "snapshots", "tests/generic", "dbt_project.yml")


Fingerprint = tuple[tuple[str, int, int], ...]


def project_fingerprint(project_dir: Path = warehouse.PROJECT_DIR) -> Fingerprint:
    """(path, size, mtime_ns) of every project file the parse reads."""
    files: list[Path] = []
    for name in PROJECT_INPUTS:
        path = project_dir / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return tuple(
        (p.relative_to(project_dir).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in files
        if p.exists()
    )


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """dbt reads env_var() from os.environ: set the run's values for the call, then restore."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class InProcessDbt:
    """Builds with dbt's Python runner, re-parsing only when the project changed."""

    def __init__(self, project_dir: Path = warehouse.PROJECT_DIR) -> None:
        self.project_dir = project_dir
        self._manifest: Any = None
        self._parsed: Fingerprint | None = None
        self._parsed_vars: str | None = None
        self.parses = 0  # how many times the project was parsed (the scheduler reports it)

    def _args(self, command: str, extra: Sequence[str]) -> list[str]:
        return [
            command,
            "--project-dir",
            str(self.project_dir),
            "--profiles-dir",
            str(self.project_dir),
            *extra,
        ]

    def _ensure_manifest(self, env: Mapping[str, str], vars_json: str | None) -> None:
        from dbt.cli.main import dbtRunner

        fingerprint = project_fingerprint(self.project_dir)
        current = (fingerprint, vars_json) == (self._parsed, self._parsed_vars)
        if self._manifest is not None and current:
            return
        # manifest.json is not written: a build reads the parse from memory (oie/dbt_process.py)
        extra = ["--quiet", "--no-write-json"] + (["--vars", vars_json] if vars_json else [])
        keep_only_this_projects_parse(Path(env["DBT_TARGET_PATH"]), str(self.project_dir))
        with _environment(env):
            result = dbtRunner().invoke(self._args("parse", extra))
        if not result.success or result.result is None:
            reason = result.exception or "see the dbt log"
            raise warehouse.WarehouseError(f"dbt parse failed: {reason}")
        self._manifest, self._parsed, self._parsed_vars = result.result, fingerprint, vars_json
        self.parses += 1

    def run(self, args: Sequence[str], env: Mapping[str, str]) -> int:
        """`args` as oie.warehouse.dbt_command makes them, without the executable; returns
        dbt's exit code convention: 0 ok, 1 a node failed, 2 dbt itself failed."""
        from dbt.cli.main import dbtRunner

        run_env = warehouse.dbt_env(env)
        vars_json = option_value(args, "--vars")
        try:
            self._ensure_manifest(run_env, vars_json)
            with _environment(run_env):
                return dbt_process.invoke(dbtRunner(manifest=self._manifest), args)
        except warehouse.WarehouseError:
            return 2
        finally:
            release_warehouse()


def release_warehouse() -> None:
    """dbt-duckdb keeps its database open for the life of the process; between runs the
    file must be free for readers (`oie leads`, dashboards) and for other writers."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the BigQuery-only install has nothing to release
        return
    DuckDBConnectionManager.close_all_connections()
    gc.collect()
