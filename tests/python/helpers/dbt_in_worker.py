"""dbt inside the test worker's own process, for the tests that need a built warehouse,
a build of a project copy, or what dbt prints (`run_printing`), not dbt's own start-up.

A dbt subprocess pays Python's import of dbt and the loading of its parse (about 4.5 s
here, bench/results/dbt_startup.md) before it builds anything; a worker that builds
dozens of warehouses pays that once, then hands dbt the manifest it parsed. dbt runs as
`oie` runs it (oie.warehouse.dbt_subprocess_env): inside the data dir, named `.`, so one
manifest serves every data dir built with the same vars and settings. Tests of how `oie`
starts dbt (the subprocess, its lock, a kill mid-build, the kept parse) keep the
subprocess: oie.warehouse.dbt_build, or `oie run` itself.

dbt trusts a manifest it is handed, so the key holds everything a parse reads: every OIE_
and DBT_ setting, the project's files (the same fingerprint `oie run --every` uses), and of
the vars, their types and the values of PARSE_READ_VARS. dbt renders a build's SQL, hooks
and test arguments with the build's own vars, whatever the manifest was parsed with; the
parse itself reads no other var's value (test_dbt_in_worker.py moves every one and compares
the two parses), so builds that only move values (a clock in oie_as_of, a tuned weight)
share one manifest instead of paying a parse each. dbt's own parse cache is stricter (any
change of vars is a full re-parse), so `oie run` always re-parses.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oie import dbt_parse_cache, warehouse
from oie.dbt_in_process import project_fingerprint, release_warehouse
from oie.dbt_parse_cache import option_value
from oie.dbt_process import exit_code

# Per data dir, and read by no parse.
PER_RUN_SETTINGS = frozenset({"DBT_TARGET_PATH", "DBT_LOG_PATH", dbt_parse_cache.CACHE_ENV})
# A worker's modules move vars in a few ways at most; the least recently used goes first.
KEPT_MANIFESTS = 4
# dbt's file log, at its default debug level, is about a seventh of a small build's time
# (a line and an event message per query: 8.3 s a scenario build, 7.5 s at warn, 7.1 s
# without). A failed build's errors still reach the console, which pytest shows with the
# failure; a caller may ask for a file log (the option or DBT_LOG_LEVEL_FILE).
FILE_LOG_LEVEL = ("--log-level-file", "none")
# The vars whose values a parse reads: a source's schema (models/staging/__sources.yml).
PARSE_READ_VARS = frozenset({"oie_raw_dataset"})

_manifests: OrderedDict[str, Any] = OrderedDict()
parses = 0  # in this worker, for the helper's own test


def _shape(value: Any) -> Any:
    """A var's JSON type, nested: what a parse may read of a var outside PARSE_READ_VARS (a
    value of another type can fail the parse, which must then happen as it would in dbt)."""
    if isinstance(value, list):
        return ["list", [_shape(item) for item in value]]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


def parse_vars(vars_text: str | None) -> Any:
    """The part of `--vars` a parse depends on."""
    if not vars_text:
        return None
    try:
        values = json.loads(vars_text)
    except ValueError:
        return vars_text  # YAML, which dbt also takes: kept whole
    if not isinstance(values, dict):
        return vars_text
    return {
        name: value if name in PARSE_READ_VARS else _shape(value)
        for name, value in sorted(values.items())
    }


def manifest_key(args: Sequence[str], env: Mapping[str, str], project_dir: Path) -> str:
    """What a parse of this invocation depends on."""
    settings = sorted(
        (k, v)
        for k, v in env.items()
        if k.startswith(("OIE_", "DBT_")) and k not in PER_RUN_SETTINGS
    )
    blob = json.dumps(
        [
            parse_vars(option_value(args, "--vars")),
            settings,
            str(project_dir),
            project_fingerprint(project_dir),
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()


@contextmanager
def _as_a_subprocess(directory: Path, env: Mapping[str, str]) -> Iterator[None]:
    """os.environ exactly `env` and the working folder `directory`, as dbt's own process
    would have them (dbt reads both); the worker's are put back after."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _parse(args: Sequence[str], env: Mapping[str, str]) -> Any:
    from dbt.cli.main import dbtRunner

    project_dir = option_value(args, "--project-dir") or str(warehouse.PROJECT_DIR)
    parse = ["parse", "--quiet", "--project-dir", project_dir, "--profiles-dir", project_dir]
    vars_json = option_value(args, "--vars")
    if vars_json:
        parse += ["--vars", vars_json]
    global parses
    with dbt_parse_cache.shared_parse(parse, env):
        result = dbtRunner().invoke(parse)
    parses += 1
    if not result.success or result.result is None:
        raise warehouse.WarehouseError(f"dbt parse failed: {result.exception or 'see its log'}")
    return result.result


@contextmanager
def _as_oie_runs_dbt(env: Mapping[str, str] | None) -> Iterator[dict[str, str]]:
    """The environment and folder `oie` gives a dbt subprocess (dbt_subprocess_env), set for
    the call; yields that environment."""
    run_env, directory = warehouse.dbt_subprocess_env(env)
    directory.mkdir(parents=True, exist_ok=True)
    with _as_a_subprocess(directory, run_env):
        yield run_env


def parse(args: Sequence[str], env: Mapping[str, str] | None = None) -> Any:
    """A new parse for `args` (as for `run`), as `run` would make it; no kept one."""
    with _as_oie_runs_dbt(env) as run_env:
        return _parse(list(args[1:]), run_env)


def run(args: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """`args` as oie.warehouse.dbt_command makes them (the executable first); dbt's exit
    code convention: 0 ok, 1 a node failed, 2 dbt itself failed."""
    from dbt.cli.main import dbtRunner

    cli_args = list(args[1:])
    project_dir = Path(option_value(cli_args, "--project-dir") or warehouse.PROJECT_DIR)
    try:
        with _as_oie_runs_dbt(env) as run_env:
            log_level_asked = option_value(cli_args, FILE_LOG_LEVEL[0]) is not None
            if not log_level_asked and "DBT_LOG_LEVEL_FILE" not in run_env:
                cli_args[:0] = FILE_LOG_LEVEL
            key = manifest_key(cli_args, run_env, project_dir)
            manifest = _manifests.pop(key, None)
            if manifest is None:
                manifest = _parse(cli_args, run_env)
            _manifests[key] = manifest
            while len(_manifests) > KEPT_MANIFESTS:
                _manifests.popitem(last=False)
            result = dbtRunner(manifest=manifest).invoke(cli_args)
    except warehouse.WarehouseError:
        return 2
    finally:
        release_warehouse()
    return exit_code(result)


@dataclass(frozen=True)
class Finished:
    """What a dbt subprocess leaves its caller: the exit code and what dbt printed."""

    returncode: int
    stdout: str


def run_printing(args: Sequence[str], env: Mapping[str, str] | None = None) -> Finished:
    """`run`, keeping what dbt would have printed on its stdout (its console log, `ls`
    output, compiled SQL) for tests that read it."""
    from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

    printed = io.StringIO()
    capture_stdout_logs(printed)  # dbt's console logger writes here instead of stdout
    try:
        code = run(args, env)
    finally:
        stop_capture_stdout_logs()
    return Finished(code, printed.getvalue())
