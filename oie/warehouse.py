"""Running the dbt project and reading the embedded warehouse.

Only dbt writes the warehouse (docs/design.md: one writing process per DuckDB file); every
reader here opens it read-only and waits briefly while a build holds the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from oie import dbt_parse_cache
from oie.dbt_process import RECORDED_COMMANDS
from oie_core.settings import data_dir_from_env

PROJECT_DIR = Path(__file__).resolve().parents[1]


class WarehouseError(RuntimeError):
    """The warehouse is missing, locked for too long, or a dbt step failed."""


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    return data_dir_from_env(env)


def warehouse_path(env: Mapping[str, str] | None = None) -> Path:
    return data_dir(env) / "warehouse.duckdb"


def dbt_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment dbt runs with: OIE_DATA_DIR made absolute, and target/ and logs/
    kept per data dir so builds against different warehouses never share dbt's state."""
    env = dict(os.environ)
    if extra:
        env.update(extra)
    directory = data_dir(env)
    env["OIE_DATA_DIR"] = str(directory)
    env.setdefault("DBT_TARGET_PATH", str(directory / "dbt" / "target"))
    env.setdefault("DBT_LOG_PATH", str(directory / "dbt" / "logs"))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


# Descriptors every dbt child inherits: the `oie run` lock, so the lock lives exactly as long
# as the last process of the run (a killed `oie run` leaves its dbt holding the lock, and the
# next run waits or exits 75 instead of failing on DuckDB's own file lock).
_CHILD_FDS: set[int] = set()


@contextmanager
def children_inherit(fd: int) -> Iterator[None]:
    """dbt subprocesses started inside this block inherit `fd` (and any lock on it)."""
    _CHILD_FDS.add(fd)
    try:
        yield
    finally:
        _CHILD_FDS.discard(fd)


def child_fds() -> tuple[int, ...]:
    """What every subprocess of a run passes as `pass_fds`."""
    return tuple(_CHILD_FDS)


def dbt_command(
    command: str = "build",
    *,
    select: str | None = None,
    exclude: str | None = None,
    full_refresh: bool = False,
    vars: Mapping[str, Any] | None = None,
    extra_args: Sequence[str] = (),
    project_dir: Path = PROJECT_DIR,
) -> list[str]:
    args = [_dbt_executable(command), command]
    args += ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    if full_refresh:
        args.append("--full-refresh")
    if vars:
        args += ["--vars", json.dumps(dict(vars))]
    args += list(extra_args)
    return args


def _dbt_executable(command: str) -> str:
    """`oie-dbt` for a build (oie/dbt_process.py: dbt without its manifest.json copies, about
    1 s a run), `dbt` for anything else, or where this install has no `oie-dbt` yet."""
    if command in RECORDED_COMMANDS:
        launcher = Path(sys.executable).with_name("oie-dbt")
        if launcher.exists():
            return str(launcher)
    dbt = Path(sys.executable).with_name("dbt")
    return str(dbt) if dbt.exists() else "dbt"


# Settings that name a file or folder, which a user may give relative to where they run
# `oie` (the BigQuery key, dbt's own folders).
CALLER_RELATIVE_PATHS = (
    "DBT_TARGET_PATH",
    "DBT_LOG_PATH",
    "OIE_BQ_KEYFILE",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


def dbt_subprocess_env(extra: Mapping[str, str] | None = None) -> tuple[dict[str, str], Path]:
    """dbt_env for a dbt subprocess, and the folder it runs in: the data dir, named `.`.

    Nothing dbt parses then names the data dir (the profile's DuckDB path, the sources'
    landing paths), so one parse serves every data dir (oie.dbt_parse_cache). A landing
    folder outside the data dir stays an absolute path.
    """
    env = dbt_env(extra)
    directory = Path(env["OIE_DATA_DIR"])
    for name in CALLER_RELATIVE_PATHS:  # dbt no longer runs in the caller's folder
        if env.get(name):
            env[name] = str(Path(env[name]).expanduser().resolve())
    landing = env.pop("OIE_LANDING_DIR", "")
    if landing:
        landing_dir = Path(landing).expanduser().resolve()
        if landing_dir != directory / "landing":  # else the sources' default, ./landing
            env["OIE_LANDING_DIR"] = str(landing_dir)
    env["OIE_DATA_DIR"] = "."
    return env, directory


def run_dbt(
    args: Sequence[str], env: Mapping[str, str] | None = None, *, capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """One dbt subprocess against the data dir `env` names (dbt_command makes `args`).

    It inherits the run lock's descriptor (child_fds), so the lock lives as long as dbt.
    """
    run_env, directory = dbt_subprocess_env(env)
    directory.mkdir(parents=True, exist_ok=True)
    with dbt_parse_cache.shared_parse(args, run_env):
        return subprocess.run(
            list(args),
            cwd=directory,
            env=run_env,
            check=False,
            pass_fds=child_fds(),
            capture_output=capture,
            text=True,
        )


def dbt_build(
    select: str | None = None,
    full_refresh: bool = False,
    vars: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    exclude: str | None = None,
    quiet: bool = False,
    command: str = "build",
    project_dir: Path = PROJECT_DIR,
    extra_args: Sequence[str] = (),
) -> int:
    """Run `dbt build` (or another command) as a subprocess; returns dbt's exit code.

    A subprocess, not dbt's in-process runner: a crash or kill mid-build must leave the
    caller alive and the next run able to catch up.
    """
    args = dbt_command(
        command,
        select=select,
        exclude=exclude,
        full_refresh=full_refresh,
        vars=vars,
        extra_args=extra_args,
        project_dir=project_dir,
    )
    if quiet:
        args.insert(1, "--quiet")
    return run_dbt(args, env).returncode


def connect_readonly(
    directory: Path | None = None, *, wait_s: float = 30.0
) -> duckdb.DuckDBPyConnection:
    """A read-only connection; retries while a dbt build holds the write lock."""
    path = (directory or data_dir()) / "warehouse.duckdb"
    if not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}: run `oie run` (or `oie demo`) to build it first"
        )
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:  # lock held by a writer
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"the warehouse at {path} stayed locked by a build for {wait_s:.0f} s"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
