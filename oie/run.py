"""`oie run`: the scheduled pipeline, steps in the design's order (docs/design.md), under one lock.

seal landing files -> dbt build -> freshness -> KV sync -> alerts -> CRM sync. The first
failing step stops the run (a sync or alert after a failed build would only repeat stale
data) and the run exits non-zero. Nothing here edits the warehouse by hand: dbt's own transactional
materializations plus the models' received_at watermarks are what let the next run catch
up after a failure or a kill.

The lock (oie/run_lock.py) is held for the whole run, dbt included.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from oie import dbt_vars, freshness
from oie.dbt_in_process import InProcessDbt
from oie.errors import EXIT_BAD_INPUT, EXIT_FAILED, UserError
from oie.run_lock import run_lock
from oie.seed_state import (
    SEEDS_UNCHANGED_ARGS,
    changed_seeds,
    read_seed_checksums,
    seed_checksums,
    seeds_home,
    seeds_in_place,
    write_seed_checksums,
    write_seeds_home,
)
from oie_core.settings import Settings, SettingsError

# The names other parts (docs, job definitions) cite: the scheduled dbt command (unit tests
# run in CI only, never on the schedule).
# not_null tests check the SQL (every such column is computed or coalesced), not the data:
# they run in CI and in the full check with everything else, never on the schedule. Nor do
# the tests tagged oie_full_check: those of views recomputed from every lead on each read,
# which no filter on this run's rows makes cheaper (docs/warehouse.md).
SCHEDULED_DBT_ARGS: tuple[str, ...] = (
    "build",
    "--exclude-resource-type",
    "unit_test",
    "--exclude",
    "test_name:not_null",
    "tag:oie_full_check",
)
SCHEDULED_DBT_COMMAND = "dbt " + " ".join(SCHEDULED_DBT_ARGS)
# `oie run --full-tests` builds with every data test; dbt Cloud's nightly full check runs
# them without a build (deploy/dbt_cloud/jobs.yml).
FULL_TESTS_DBT_ARGS: tuple[str, ...] = ("build", "--exclude-resource-type", "unit_test")
FULL_CHECK_DBT_COMMAND = "dbt test --exclude-resource-type unit_test"
# Where the build's data tests look (macros/test_scope.sql): a scheduled run tests the rows
# it wrote; `oie run --full-tests`, a full refresh, CI and a plain `dbt build` test all.
TEST_SCOPE_ENV = "DBT_OIE_TEST_SCOPE"


@dataclass
class StepResult:
    name: str
    status: str  # ok | skipped | failed
    detail: str = ""
    exit_code: int = EXIT_FAILED  # of the run, when this step failed
    seconds: float = 0.0


@dataclass
class RunOptions:
    skip_dbt: bool = False
    select: str | None = None
    full_refresh: bool = False
    dbt_vars: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False  # dbt prints errors only (the demo shows its own progress)
    full_tests: bool = False  # data tests read every row, not only this run's
    # set by `oie run --every`: dbt in this process, parsed once (oie/dbt_in_process.py)
    in_process: InProcessDbt | None = None


StepFn = Callable[[Settings, RunOptions], StepResult]


def parse_vars(text: str | None) -> dict[str, Any]:
    """`--vars` as dbt reads it (a YAML/JSON mapping), checked against dbt_project.yml."""
    return dbt_vars.check(text)


def step_seal(settings: Settings, options: RunOptions) -> StepResult:
    from oie_core import landing
    from oie_core.erasure_pending import scrub
    from oie_core.retention import expire_landing

    sealed = landing.seal_stale(settings.landing_dir)
    detail = _describe_seal(sealed)
    dropped = scrub(settings)
    if dropped:
        detail += f", {dropped} line(s) of forgotten people dropped"
    erased = _retry_bigquery_erasures(settings)
    if erased:
        detail += f", {erased}"
    if settings.target == "local":
        days, as_of = _retention(options)
        expired = expire_landing(settings.landing_dir, days, as_of)
        if expired.partitions:
            detail += (
                f", {expired.partitions} day partition(s) past oie_raw_retention_days "
                f"({days}) removed"
            )
    return StepResult("seal", "ok", detail)


def _retry_bigquery_erasures(settings: Settings) -> str:
    """Erasures BigQuery refused or whose grace window is open (oie/forget/pending.py),
    repeated before the build; a refusal again leaves them pending and the run going
    (the tombstones keep the rows out of the build)."""
    from oie.forget.bigquery import BigQueryErasure, uses_bigquery

    if not uses_bigquery(settings):
        return ""
    from google.api_core.exceptions import GoogleAPICallError

    from oie.forget.pending import retry

    try:
        erasure = BigQueryErasure.from_settings(settings, dbt_vars.project_vars())
        return retry(settings, erasure).summary()
    except GoogleAPICallError as exc:  # e.g. no access to the private dataset: say so
        first = str(exc).splitlines()[0]
        return f"pending BigQuery erasures not retried ({type(exc).__name__}: {first})"


def _retention(options: RunOptions) -> tuple[int, float | None]:
    """oie_raw_retention_days and the clock it is measured on (oie_as_of, else now), as
    the build about to run will read them."""
    merged = {**dbt_vars.project_vars(), **options.dbt_vars}
    as_of = merged.get("oie_as_of")
    when = None
    if as_of:
        when = datetime.fromisoformat(str(as_of).replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return int(merged["oie_raw_retention_days"]), when.timestamp() if when else None


def _describe_seal(sealed: object) -> str:
    if isinstance(sealed, int):
        return f"{sealed} stale file(s) sealed"
    if isinstance(sealed, list | tuple):
        return f"{len(sealed)} stale file(s) sealed"
    if sealed is None:
        return "landing files sealed"
    return str(sealed)


def step_dbt(settings: Settings, options: RunOptions) -> StepResult:
    if options.skip_dbt:
        return StepResult("dbt build", "skipped", "--skip-dbt: dbt runs elsewhere (dbt Cloud)")
    from oie import warehouse

    # A reclassification (an edited seed) must apply to history, not only to new rows:
    # when the seeds changed since the last successful build, this build is a full refresh.
    sums = seed_checksums()
    before = read_seed_checksums(settings.data_dir)
    changed = changed_seeds(before, sums)
    full_refresh = options.full_refresh or bool(changed)
    # dbt gets the folders from the settings, not from whatever the process environment
    # says: `oie demo` runs the pipeline on its own folder without touching os.environ.
    scope = "all" if options.full_tests or full_refresh else "new"
    command, *scheduled_flags = FULL_TESTS_DBT_ARGS if scope == "all" else SCHEDULED_DBT_ARGS
    seeds_kept = scope == "new" and not options.select and seeds_in_place(settings, before, sums)
    if seeds_kept:
        scheduled_flags += SEEDS_UNCHANGED_ARGS
    env = {
        "OIE_DATA_DIR": str(settings.data_dir),
        "OIE_LANDING_DIR": str(settings.landing_dir),
        "OIE_TARGET": settings.target,
        TEST_SCOPE_ENV: scope,
    }
    run_results = Path(warehouse.dbt_env(env)["DBT_TARGET_PATH"]) / "run_results.json"
    run_results.unlink(missing_ok=True)  # never judge this build by the previous one's results
    if options.in_process is not None:
        args = warehouse.dbt_command(
            command,
            select=options.select,
            full_refresh=full_refresh,
            vars=options.dbt_vars or None,
            extra_args=[*scheduled_flags, *(["--quiet"] if options.quiet else [])],
        )
        code = options.in_process.run(args[1:], env)
    else:
        code = warehouse.dbt_build(
            select=options.select,
            full_refresh=full_refresh,
            vars=options.dbt_vars or None,
            quiet=options.quiet,
            command=command,
            extra_args=scheduled_flags,
            env=env,
        )
    if code != 0:
        return StepResult(
            "dbt build", "failed", f"dbt exited with code {code}: see the dbt log above"
        )
    if options.select and not _ran_anything(run_results):
        return StepResult(
            "dbt build",
            "failed",
            f"--select {options.select!r} matches no model, seed, snapshot or test "
            "(`dbt ls --select` lists what a selector picks)",
            exit_code=EXIT_BAD_INPUT,
        )
    if not options.select:  # only a whole build covers every model a seed feeds
        write_seed_checksums(settings.data_dir, sums)
        write_seeds_home(settings.data_dir, seeds_home(settings))
    what = f"selection {options.select!r}" if options.select else "all models"
    if changed:
        seeds = ", ".join(changed)
        what += f" (full refresh: seeds changed since the last successful run: {seeds})"
    elif full_refresh:
        what += " (full refresh)"
    what += "; data tests on every row" if scope == "all" else "; data tests on this run's rows"
    if seeds_kept:
        what += "; seeds unchanged, not reloaded"
    return StepResult("dbt build", "ok", what)


def _ran_anything(run_results: Path) -> bool:
    """dbt exits 0 with "Nothing to do" when a selector matches nothing: its results say so."""
    try:
        return bool(json.loads(run_results.read_text()).get("results"))
    except (OSError, ValueError):
        return False


def step_freshness(settings: Settings, options: RunOptions) -> StepResult:
    """Report stale raw sources (oie/freshness.py): on the local target from the warehouse
    the build just loaded (no second dbt process), on BigQuery by `dbt source freshness`.
    `check` returns the one-line status, e.g. "sources: events stale (last received 27 h
    ago)"; staleness never fails the step (a quiet site is not a broken warehouse), a
    `UserError` does.
    """
    try:
        detail = freshness.check(settings)
    except UserError as exc:
        return StepResult("freshness", "failed", str(exc))
    return StepResult("freshness", "ok", detail)


def _installed(module: str) -> bool:
    # find_spec imports the parent package, and raises when that parent is missing.
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def step_kv_sync(settings: Settings, options: RunOptions) -> StepResult:
    """edge_profiles -> the KV store (docs/kv.md), change-only, after dbt and under this
    run's lock (the state table is written here, never while dbt builds).

    Keys that failed one by one (too big, still unsuccessful) leave the step `ok` with their
    count: the rest was pushed, those keys are retried on the next run, and the alerts after
    this step need not wait for them (`oie sync` exits 1 for them). Before anything was built
    the step is skipped. A configuration or token to fix fails it with exit code 2, an
    unreachable store with 1.
    """
    if not _installed("kv_sync.runner"):
        return StepResult("kv sync", "skipped", "not installed (no kv_sync package)")
    from kv_sync import runner
    from kv_sync.errors import KVError, NothingBuilt

    try:
        report = runner.run(settings)
    except NothingBuilt as exc:
        return StepResult("kv sync", "skipped", f"nothing to sync: {exc}")
    except SettingsError as exc:
        return StepResult("kv sync", "failed", str(exc), exit_code=EXIT_BAD_INPUT)
    except KVError as exc:
        return StepResult("kv sync", "failed", str(exc), exit_code=exc.exit_code)
    detail = report.summary()
    if report.failed:
        first = report.failed[0]
        detail += f" (first failed: {first.key}: {first.reason}; `oie sync` lists them all)"
    return StepResult("kv sync", "ok", detail)


def step_alerts(settings: Settings, options: RunOptions) -> StepResult:
    """Hot-lead alerts (docs/alerts.md), after the KV sync and under this run's lock: new
    alerts are decided once in the warehouse's outbox, then delivered. An outage leaves
    them pending and the step `ok` (`1 pending`): later runs retry them. Alerts that failed
    for good leave it `ok` with the first named (`oie alerts` exits 1 for them). No
    destination configured, or nothing built yet: skipped. A setting to fix fails it with
    exit code 2.
    """
    if not _installed("kv_sync.alerts.runner"):
        return StepResult("alerts", "skipped", "not installed (no kv_sync.alerts package)")
    from kv_sync.alerts import runner
    from kv_sync.errors import KVError, NothingBuilt

    if not runner.destinations(settings):
        return StepResult("alerts", "skipped", runner.NO_DESTINATION)
    try:
        report = runner.run(settings)
    except NothingBuilt as exc:
        return StepResult("alerts", "skipped", f"nothing to alert on: {exc}")
    except SettingsError as exc:
        return StepResult("alerts", "failed", str(exc), exit_code=EXIT_BAD_INPUT)
    except KVError as exc:
        return StepResult("alerts", "failed", str(exc), exit_code=exc.exit_code)
    detail = report.summary()
    if report.problems:
        first = report.problems[0]
        detail += f" (first problem: {first.line()}; `oie alerts` lists them all)"
    return StepResult("alerts", "ok", detail)


def step_crm_sync(settings: Settings, options: RunOptions) -> StepResult:
    """crm_contacts -> HubSpot contacts (docs/crm.md), change-only, after the alerts and
    under this run's lock (the state table is written here, never while dbt builds).

    Without OIE_HUBSPOT_TOKEN the step is skipped, saying so. Contacts HubSpot refused one
    by one leave the step `ok` with their count and the first named (`oie crm sync` exits 1
    for them and lists them all); they are sent again by the next run. Before anything was
    built the step is skipped. A setting or token to fix fails it with exit code 2,
    HubSpot unreachable (or still failing after the client's retries) with 1.
    """
    if not _installed("crm_sync.runner"):
        return StepResult("crm sync", "skipped", "not installed (no crm_sync package)")
    from crm_sync import runner
    from kv_sync.errors import KVError, NothingBuilt

    if not runner.configured(settings):
        return StepResult("crm sync", "skipped", runner.NOT_CONFIGURED)
    try:
        report = runner.run(settings)
    except NothingBuilt as exc:
        return StepResult("crm sync", "skipped", f"nothing to sync: {exc}")
    except SettingsError as exc:
        return StepResult("crm sync", "failed", str(exc), exit_code=EXIT_BAD_INPUT)
    except KVError as exc:
        return StepResult("crm sync", "failed", str(exc), exit_code=exc.exit_code)
    detail = report.summary()
    if report.failed:
        first = report.failed[0]
        detail += f" (first failed: {first.key}: {first.reason}; `oie crm sync` lists them all)"
    return StepResult("crm sync", "ok", detail)


STEPS: tuple[tuple[str, StepFn], ...] = (
    ("seal landing files", step_seal),
    ("dbt build", step_dbt),
    ("freshness", step_freshness),
    ("kv sync", step_kv_sync),
    ("alerts", step_alerts),
    ("crm sync", step_crm_sync),
)


def run_steps(
    settings: Settings,
    options: RunOptions,
    *,
    on_start: Callable[[int, str], None] | None = None,
    on_done: Callable[[int, StepResult], None] | None = None,
    steps: tuple[tuple[str, StepFn], ...] = STEPS,
) -> list[StepResult]:
    """Run the steps in order, stopping at the first failure (the caller holds the lock)."""
    results: list[StepResult] = []
    for index, (title, fn) in enumerate(steps, start=1):
        if on_start is not None:
            on_start(index, title)
        started = time.monotonic()
        try:
            result = fn(settings, options)
        except Exception as exc:  # a step's own bug or I/O error: report it, stop cleanly
            result = StepResult(title, "failed", f"{type(exc).__name__}: {exc}")
        result.seconds = time.monotonic() - started
        results.append(result)
        if on_done is not None:
            on_done(index, result)
        if result.status == "failed":
            break
    return results


MARK = {"ok": "[green]ok[/]", "skipped": "[yellow]skipped[/]", "failed": "[bold red]FAILED[/]"}


def execute(
    options: RunOptions,
    *,
    wait: bool,
    wait_timeout: float | None,
    out: Console,
    settings: Settings | None = None,
) -> list[StepResult]:
    """Take the lock and run the steps, printing one line per step; used by `oie demo` too.
    `settings` defaults to the environment's (`oie demo` passes its own folder's)."""
    if options.dbt_vars:  # before the lock and before anything is built
        dbt_vars.validate(options.dbt_vars)
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise UserError(str(exc)) from None

    def waiting(holder: str) -> None:
        out.print(f"waiting for the running pipeline to finish ({holder})")

    if settings.ip_mode == "raw":
        # Said on every run: a setting that keeps personal data whole must not go unnoticed.
        out.print(
            "[bold yellow]warning:[/] OIE_IP_MODE=raw: visitors' full IP addresses are "
            "landed and kept (personal data); truncate (the default), hash or drop keeps "
            "them out (PRIVACY.md)"
        )

    with run_lock(settings.data_dir, wait=wait, timeout_s=wait_timeout, on_wait=waiting):

        def start(index: int, title: str) -> None:
            out.print(f"[bold][{index}/{len(STEPS)}][/] {title} ...")

        def done(index: int, result: StepResult) -> None:
            detail = f": {result.detail}" if result.detail else ""
            out.print(f"      {MARK[result.status]} {result.name} ({result.seconds:.1f} s){detail}")

        return run_steps(settings, options, on_start=start, on_done=done)
