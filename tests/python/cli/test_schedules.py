"""Schedules as code (docs/scheduling.md): the cron line, deploy/schedule.sh (Cloud Scheduler ->
Cloud Run job) and deploy/dbt_cloud/jobs.yml (dbt Cloud) run the same command under the same
lock, and each is checked here offline: the cron line is run as cron would, schedule.sh
against a recording stand-in for gcloud, jobs.yml with dbt-jobs-as-code's own validation."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from croniter import croniter
from jinja2 import Environment, StrictUndefined
from ruamel.yaml import YAML

from oie.run import FULL_CHECK_DBT_COMMAND, TEST_SCOPE_ENV
from oie.run_lock import LOCK_NAME, run_lock

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "scheduling.md"
JOBS = REPO / "deploy" / "dbt_cloud" / "jobs.yml"
SCHEDULE = REPO / "deploy" / "schedule.sh"
VENV_BIN = REPO / ".venv" / "bin"
EXIT_BUSY = 75
CLOUD_RUN_DATA_DIR = "/tmp/oie"  # schedule.sh's default OIE_DATA_DIR in the container


# ---------------------------------------------------------------------------------------------
# The page's examples


def doc_text() -> str:
    return DOC.read_text()


def fenced(lang: str) -> list[str]:
    """The page's fenced code blocks of one language (indented ones too, as in a list)."""
    blocks = re.findall(rf"^( *)```{lang}\n(.*?)^\1```", doc_text(), re.S | re.M)
    return ["\n".join(ln[len(ind) :] for ln in body.splitlines()) for ind, body in blocks]


def scheduled_dbt_command() -> str:
    """The page states the scheduled dbt command once, as an indented block at the top."""
    (command,) = re.findall(r"^    (dbt build[^\n]*)$", doc_text(), re.M)
    return command


def cron_lines() -> tuple[str, str]:
    """(the cron line to use, the flock-wrapped line the page warns against)."""
    lines = [ln for block in fenced("cron") for ln in block.splitlines() if ln.strip()]
    good = [ln for ln in lines if "flock" not in ln and "--full-tests" not in ln]
    bad = [ln for ln in lines if "flock" in ln]
    assert len(good) == 1 and len(bad) == 1, lines
    return good[0], bad[0]


def nightly_cron_line() -> str:
    """The page's nightly full check."""
    lines = [ln for block in fenced("cron") for ln in block.splitlines() if "--full-tests" in ln]
    assert len(lines) == 1, lines
    return lines[0]


def split_cron(line: str) -> tuple[str, str]:
    fields = line.split(None, 5)
    return " ".join(fields[:5]), fields[5]


def cron_env(home: Path) -> dict[str, str]:
    # What cron gives a job: next to nothing (no OIE_* setting, no venv on PATH).
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "SHELL": "/bin/sh",
        "LOGNAME": "oie",
        "LANG": "C.UTF-8",
    }


def install_dir(tmp_path: Path) -> Path:
    """A stand-in for /srv/oie: the project's venv and an empty data folder."""
    srv = tmp_path / "srv" / "oie"
    (srv / "data").mkdir(parents=True)
    (srv / ".venv").symlink_to(REPO / ".venv")
    return srv


def run_cron_line(line: str, srv: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    schedule, command = split_cron(line)
    assert croniter.is_valid(schedule), schedule
    return subprocess.run(
        ["/bin/sh", "-c", command.replace("/srv/oie", str(srv))],
        cwd="/",
        env=cron_env(srv),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---------------------------------------------------------------------------------------------
# 1. cron


@pytest.fixture(scope="module")
def cron_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The page's cron line, run once as cron runs it, on an empty data folder."""
    srv = install_dir(tmp_path_factory.mktemp("cron"))
    good, _ = cron_lines()
    started = time.monotonic()
    proc = run_cron_line(good, srv, timeout=600)
    assert proc.returncode == 0, (srv / "data" / "oie-run.log").read_text()
    assert proc.stdout == "" and proc.stderr == ""  # everything went to the log: cron mails nothing
    return srv, time.monotonic() - started


def test_cron_line_runs_the_pipeline_on_an_empty_data_folder(cron_run: tuple[Path, float]) -> None:
    srv, _ = cron_run
    good, _ = cron_lines()
    assert split_cron(good)[0] == "*/5 * * * *"
    log = (srv / "data" / "oie-run.log").read_text()
    sample = re.search(r"`(\[2/\d\] dbt build) \.\.\.`", doc_text())  # the page's sample
    assert sample and sample.group(1) in log and "pipeline finished" in log, log
    assert "Traceback" not in log
    # The lock, the warehouse and the log are all in the folder the line names.
    assert (srv / "data" / LOCK_NAME).is_file()
    assert (srv / "data" / "warehouse.duckdb").is_file()
    holder = json.loads((srv / "data" / LOCK_NAME).read_text())
    assert set(holder) == {"pid", "started_at"}


def test_nightly_full_check_line_tests_every_row(cron_run: tuple[Path, float]) -> None:
    srv, _ = cron_run
    nightly = nightly_cron_line()
    schedule, command = split_cron(nightly)
    assert schedule.split()[0].isdigit() and schedule.split()[1].isdigit(), "once a day"
    assert command == split_cron(cron_lines()[0])[1].replace("oie run", "oie run --full-tests")
    log = srv / "data" / "oie-run.log"
    before = log.read_text()
    proc = run_cron_line(nightly, srv, timeout=600)
    assert proc.returncode == 0, log.read_text()
    added = log.read_text()[len(before) :]
    assert "data tests on every row" in added and "pipeline finished" in added, added


def test_cron_line_exits_75_at_once_while_a_run_holds_the_lock(tmp_path: Path) -> None:
    srv = install_dir(tmp_path)
    good, _ = cron_lines()
    with run_lock(srv / "data", wait=False):
        started = time.monotonic()
        proc = run_cron_line(good, srv, timeout=120)
        took = time.monotonic() - started
    log = (srv / "data" / "oie-run.log").read_text()
    assert proc.returncode == EXIT_BUSY, log
    assert "another `oie run` is in progress" in log and f"pid {os.getpid()}" in log
    assert took < 30, took
    assert not (srv / "data" / "warehouse.duckdb").exists()  # nothing ran


def test_flock_wrapped_cron_line_never_runs_the_pipeline(tmp_path: Path) -> None:
    # The page's warning, as a fact: flock(1) holds oie run's own lock, so oie run exits 75.
    srv = install_dir(tmp_path)
    _, bad = cron_lines()
    assert f"flock -n /srv/oie/data/{LOCK_NAME}" in bad
    proc = run_cron_line(bad, srv, timeout=120)
    log = (srv / "data" / "oie-run.log").read_text()
    assert proc.returncode == EXIT_BUSY, log
    assert "another `oie run` is in progress" in log
    assert not (srv / "data" / "warehouse.duckdb").exists()


def test_skip_dbt_runs_the_rest_under_the_same_lock(tmp_path: Path) -> None:
    """`oie run --skip-dbt`, what runs after a dbt Cloud build: no dbt, same lock, same exit."""
    srv = install_dir(tmp_path)
    env = {**cron_env(srv), "OIE_DATA_DIR": str(srv / "data")}
    oie = [str(srv / ".venv" / "bin" / "oie"), "run", "--skip-dbt"]
    proc = subprocess.run(oie, cwd=srv, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"skipped dbt build .*--skip-dbt", proc.stdout), proc.stdout
    assert "pipeline finished" in proc.stdout
    assert (srv / "data" / LOCK_NAME).is_file()
    assert not (srv / "data" / "warehouse.duckdb").exists()
    with run_lock(srv / "data", wait=False):
        busy = subprocess.run(oie, cwd=srv, env=env, capture_output=True, text=True, timeout=120)
    assert busy.returncode == EXIT_BUSY, busy.stdout + busy.stderr


# ---------------------------------------------------------------------------------------------
# 2. deploy/schedule.sh against a recording gcloud

FAKE_GCLOUD = """#!{python}
# A stand-in for gcloud: records argv, keeps which jobs exist in a state file, and fails like
# gcloud does on describe/update of a missing job or create of an existing one.
import json, os, sys

args = sys.argv[1:]
with open(os.environ["FAKE_GCLOUD_LOG"], "a") as f:
    f.write(json.dumps(args) + "\\n")
state_path = os.environ["FAKE_GCLOUD_STATE"]
state = set(json.load(open(state_path))) if os.path.exists(state_path) else set()
positional = [a for a in args if not a.startswith("--")]
if positional[:2] == ["run", "jobs"]:
    verb, name = positional[2], positional[3]
    key = "run:" + name
elif positional[:2] == ["scheduler", "jobs"]:
    verb = positional[2]
    name = positional[4] if verb in ("create", "update") else positional[3]
    if verb in ("create", "update") and positional[3] != "http":
        sys.exit("fake gcloud: expected an http scheduler job")
    key = "scheduler:" + name
else:
    sys.exit("fake gcloud: unexpected command " + " ".join(args))
if verb == "describe":
    if key not in state:
        sys.exit("ERROR: (gcloud) NOT_FOUND: " + name)
    print(name)
elif verb == "create":
    if key in state:
        sys.exit("ERROR: (gcloud) ALREADY_EXISTS: " + name)
    state.add(key)
elif verb == "update":
    if key not in state:
        sys.exit("ERROR: (gcloud) NOT_FOUND: " + name)
elif verb == "add-iam-policy-binding":
    if key not in state:
        sys.exit("ERROR: (gcloud) NOT_FOUND: " + name)
else:
    sys.exit("fake gcloud: unexpected verb " + verb)
json.dump(sorted(state), open(state_path, "w"))
"""


class Gcloud:
    """A PATH folder with the fake gcloud, its call log and its state."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        self.log = root / "calls.jsonl"
        self.state = root / "state.json"
        exe = self.bin / "gcloud"
        exe.write_text(FAKE_GCLOUD.format(python=sys.executable))
        exe.chmod(0o755)

    def env(self, **settings: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.bin.parent),
            "FAKE_GCLOUD_LOG": str(self.log),
            "FAKE_GCLOUD_STATE": str(self.state),
            "PYTHON": str(VENV_BIN / "python"),
            **settings,
        }

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def reset_log(self) -> None:
        self.log.unlink(missing_ok=True)


BASE = {"GCP_PROJECT": "acme-prod", "OIE_IMAGE": "img.example/oie:1", "OIE_BQ_DATASET": "oie"}


def schedule(gcloud: Gcloud, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCHEDULE), *args],
        env=gcloud.env(**{**BASE, **settings}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def flag(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def env_vars(call: list[str]) -> dict[str, str]:
    raw = flag(call, "--set-env-vars")
    assert raw.startswith("^@^"), raw  # gcloud's custom delimiter: commas in values survive
    return dict(pair.split("=", 1) for pair in raw[3:].split("@"))


@pytest.fixture
def gcloud(tmp_path: Path) -> Gcloud:
    return Gcloud(tmp_path / "gcloud")


def test_schedule_creates_then_updates_and_is_idempotent(gcloud: Gcloud) -> None:
    first = schedule(gcloud)
    assert first.returncode == 0, first.stderr
    calls = gcloud.calls()
    assert [c[:3] for c in calls] == [
        ["run", "jobs", "describe"],
        ["run", "jobs", "create"],
        ["run", "jobs", "add-iam-policy-binding"],
        ["scheduler", "jobs", "describe"],
        ["scheduler", "jobs", "create"],
    ]
    run_job, iam, sched = calls[1], calls[2], calls[4]
    # The Cloud Run job: `oie run`, one task at a time, no retry, timeout below the interval.
    assert run_job[3] == "oie-run"
    assert (flag(run_job, "--command"), flag(run_job, "--args")) == ("oie", "run")
    assert flag(run_job, "--image") == "img.example/oie:1"
    assert flag(run_job, "--tasks") == flag(run_job, "--parallelism") == "1"
    assert flag(run_job, "--max-retries") == "0"
    assert flag(run_job, "--task-timeout") == "4m"
    assert flag(run_job, "--project") == "acme-prod" and flag(run_job, "--region") == "us-central1"
    assert flag(run_job, "--set-secrets") == (
        "OIE_TOKEN_SECRET=oie-token-secret:latest,OIE_TOMBSTONE_SECRET=oie-tombstone-secret:latest"
    )
    assert env_vars(run_job) == {
        "OIE_TARGET": "bigquery",
        "OIE_SINK": "bigquery",
        "OIE_DATA_DIR": CLOUD_RUN_DATA_DIR,
        "OIE_BQ_PROJECT": "acme-prod",
        "OIE_BQ_DATASET": "oie",
    }
    assert flag(iam, "--member") == "serviceAccount:oie-scheduler@acme-prod.iam.gserviceaccount.com"
    assert flag(iam, "--role") == "roles/run.invoker"
    # The trigger: every 5 minutes, the Run Admin API's jobs.run on that job, no retry.
    assert sched[3:5] == ["http", "oie-run-every-5-min"]
    assert flag(sched, "--schedule") == "*/5 * * * *"
    assert flag(sched, "--uri") == (
        "https://run.googleapis.com/v2/projects/acme-prod/locations/us-central1/jobs/oie-run:run"
    )
    assert flag(sched, "--http-method") == "POST"
    assert flag(sched, "--max-retry-attempts") == "0"
    assert flag(sched, "--oauth-service-account-email") == flag(iam, "--member").split(":")[1]
    assert f"oie run, under the lock {CLOUD_RUN_DATA_DIR}/{LOCK_NAME}" in first.stdout

    # Run again: both jobs exist, so both are updated with the same settings.
    gcloud.reset_log()
    second = schedule(gcloud)
    assert second.returncode == 0, second.stderr
    again = gcloud.calls()
    assert [c[:3] for c in again] == [
        ["run", "jobs", "describe"],
        ["run", "jobs", "update"],
        ["run", "jobs", "add-iam-policy-binding"],
        ["scheduler", "jobs", "describe"],
        ["scheduler", "jobs", "update"],
    ]
    assert again[1][3:] == run_job[3:] and again[4][3:] == sched[3:]
    # And a third time changes nothing more.
    gcloud.reset_log()
    assert schedule(gcloud).returncode == 0
    assert gcloud.calls() == again


def test_schedule_dry_run_prints_the_commands_and_changes_nothing(gcloud: Gcloud) -> None:
    dry = schedule(gcloud, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [c[2] for c in gcloud.calls()] == ["describe", "describe"]  # read-only calls only
    assert not gcloud.state.exists()
    printed = [shlex.split(ln[2:]) for ln in dry.stdout.splitlines() if ln.startswith("+ ")]
    # What it prints is exactly what a real run then executes.
    gcloud.reset_log()
    assert schedule(gcloud).returncode == 0
    assert printed == [["gcloud", *c] for c in gcloud.calls()]


def test_schedule_skip_dbt_and_settings(gcloud: Gcloud) -> None:
    proc = schedule(
        gcloud,
        SKIP_DBT="1",
        EVERY_MINUTES="15",
        GCP_REGION="europe-west1",
        RUN_JOB="oie-sync",
        OIE_BQ_LOCATION="EU",
        OIE_ALLOWED_ORIGINS="https://a.example,https://b.example",
        OIE_TOKEN_SECRET="must-not-leak",
        OIE_TOMBSTONE_SECRET="must-not-leak-tombstones",
        EXTRA_SECRETS="CLOUDFLARE_API_TOKEN=cf-api-token:latest",
        OIE_KV="cloudflare",
        CLOUDFLARE_ACCOUNT_ID="acct-123",
        OIE_KV_NAMESPACE_ID="ns-456",
        CLOUDFLARE_API_TOKEN="token-must-not-leak",
    )
    assert proc.returncode == 0, proc.stderr
    calls = gcloud.calls()
    run_job, sched = calls[1], calls[4]
    assert flag(run_job, "--args") == "run,--skip-dbt"
    assert flag(run_job, "--task-timeout") == "14m"
    assert flag(sched, "--schedule") == "*/15 * * * *"
    assert flag(sched, "--uri").endswith("/locations/europe-west1/jobs/oie-sync:run")
    settings = env_vars(run_job)
    assert settings["OIE_BQ_LOCATION"] == "EU"
    assert settings["OIE_ALLOWED_ORIGINS"] == "https://a.example,https://b.example"
    assert "OIE_TOKEN_SECRET" not in settings and "must-not-leak" not in json.dumps(calls)
    # the KV sync's destination travels; its API token only as a secret
    assert (settings["OIE_KV"], settings["CLOUDFLARE_ACCOUNT_ID"]) == ("cloudflare", "acct-123")
    assert settings["OIE_KV_NAMESPACE_ID"] == "ns-456" and "CLOUDFLARE_API_TOKEN" not in settings
    assert flag(run_job, "--set-secrets") == (
        "OIE_TOKEN_SECRET=oie-token-secret:latest,OIE_TOMBSTONE_SECRET=oie-tombstone-secret:latest,"
        "CLOUDFLARE_API_TOKEN=cf-api-token:latest"
    )
    assert f"oie run --skip-dbt, under the lock {CLOUD_RUN_DATA_DIR}/{LOCK_NAME}" in proc.stdout


def test_schedule_passes_alert_destinations_only_as_secrets(gcloud: Gcloud) -> None:
    slack = "https://hooks.slack.com/services/T0/B0/must-not-leak"
    proc = schedule(
        gcloud,
        OIE_ALERT_LEVEL="burning",
        OIE_ALERT_MAX_ATTEMPTS="5",
        OIE_ALERT_MAX_AGE="12h",
        OIE_ALERT_SLACK_WEBHOOK_URL=slack,
        OIE_ALERT_WEBHOOK_URL="https://n8n.example/webhook/must-not-leak",
        OIE_ALERT_WEBHOOK_SECRET="whsec_bXVzdC1ub3QtbGVhaw==",
        EXTRA_SECRETS=(
            "OIE_ALERT_SLACK_WEBHOOK_URL=oie-slack-webhook:latest,"
            "OIE_ALERT_WEBHOOK_SECRET=oie-webhook-secret:2"
        ),
    )
    assert proc.returncode == 0, proc.stderr
    calls = gcloud.calls()
    run_job = calls[1]
    settings = env_vars(run_job)
    assert (settings["OIE_ALERT_LEVEL"], settings["OIE_ALERT_MAX_ATTEMPTS"]) == ("burning", "5")
    assert settings["OIE_ALERT_MAX_AGE"] == "12h"
    for name in (
        "OIE_ALERT_SLACK_WEBHOOK_URL",
        "OIE_ALERT_WEBHOOK_URL",
        "OIE_ALERT_WEBHOOK_SECRET",
    ):
        assert name not in settings
    assert "must-not-leak" not in json.dumps(calls) + proc.stdout + proc.stderr
    assert "bXVzdC1ub3QtbGVhaw" not in json.dumps(calls)
    assert flag(run_job, "--set-secrets") == (
        "OIE_TOKEN_SECRET=oie-token-secret:latest,"
        "OIE_TOMBSTONE_SECRET=oie-tombstone-secret:latest,"
        "OIE_ALERT_SLACK_WEBHOOK_URL=oie-slack-webhook:latest,"
        "OIE_ALERT_WEBHOOK_SECRET=oie-webhook-secret:2"
    )
    # the webhook URL was set in the shell but not given as a secret: said, not passed
    (warning,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("schedule: OIE_ALERT")]
    assert warning.startswith("schedule: OIE_ALERT_WEBHOOK_URL is a secret")
    assert "EXTRA_SECRETS" in warning


def test_schedule_passes_the_hubspot_token_only_as_a_secret(gcloud: Gcloud) -> None:
    token = "pat-na1-must-not-leak"
    shell = schedule(gcloud, OIE_HUBSPOT_TOKEN=token, OIE_HUBSPOT_BASE_URL="https://api.hubapi.com")
    assert shell.returncode == 0, shell.stderr
    settings = env_vars(gcloud.calls()[1])
    assert "OIE_HUBSPOT_TOKEN" not in settings and token not in json.dumps(gcloud.calls())
    assert settings["OIE_HUBSPOT_BASE_URL"] == "https://api.hubapi.com"
    (warning,) = [ln for ln in shell.stderr.splitlines() if "OIE_HUBSPOT_TOKEN" in ln]
    assert (
        warning.startswith("schedule: OIE_HUBSPOT_TOKEN is a secret") and "EXTRA_SECRETS" in warning
    )

    gcloud.reset_log()
    secret = schedule(
        gcloud, OIE_HUBSPOT_TOKEN=token, EXTRA_SECRETS="OIE_HUBSPOT_TOKEN=oie-hubspot-token:latest"
    )
    assert secret.returncode == 0 and "OIE_HUBSPOT_TOKEN" not in secret.stderr
    assert flag(gcloud.calls()[1], "--set-secrets").endswith(
        ",OIE_HUBSPOT_TOKEN=oie-hubspot-token:latest"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"EVERY_MINUTES": "7"}, "divide 60"),
        ({"EVERY_MINUTES": "1"}, "divide 60"),
        ({"EVERY_MINUTES": "5", "TASK_TIMEOUT_MINUTES": "5"}, "overlap"),
        ({"OIE_IMAGE": ""}, "OIE_IMAGE"),
        ({"OIE_BQ_LABEL": "me@acme.example"}, "contains '@'"),
    ],
)
def test_schedule_refuses_settings_that_could_overlap_or_break(
    gcloud: Gcloud, settings: dict[str, str], message: str
) -> None:
    proc = schedule(gcloud, **settings)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
    assert not [c for c in gcloud.calls() if c[2] in ("create", "update")]


def test_schedule_help_lists_every_setting_it_reads() -> None:
    proc = subprocess.run(["bash", str(SCHEDULE), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    script = SCHEDULE.read_text()
    read = set(re.findall(r"\$\{([A-Z_]+):[-?]", script)) - {"PROJECT"}
    documented = set(re.findall(r"^#   ([A-Z_]+)", proc.stdout, re.M))
    documented |= {"CPU"} if "MEMORY, CPU" in proc.stdout else set()
    assert read <= documented | {"OIE_BQ_PROJECT"}, read - documented


def test_docs_schedule_examples_run(gcloud: Gcloud) -> None:
    examples = [b for b in fenced("bash") if "deploy/schedule.sh" in b]
    assert len(examples) == 2
    for example in examples:
        gcloud.reset_log()
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", example],
            cwd=REPO,
            env=gcloud.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "+ gcloud run jobs create oie-run " in proc.stdout
        assert "europe-west1-docker.pkg.dev/my-proj/oie/oie:1.0" in proc.stdout
        assert f"under the lock {CLOUD_RUN_DATA_DIR}/{LOCK_NAME}" in proc.stdout
        expected = "oie run --skip-dbt," if "SKIP_DBT=1" in example else "oie run,"
        assert expected in proc.stdout
        assert [c[2] for c in gcloud.calls()] == ["describe", "describe"]


# ---------------------------------------------------------------------------------------------
# 3. The dbt Cloud job


def vars_file(tmp_path: Path) -> Path:
    (block,) = [b for b in fenced("yaml") if "account_id" in b]
    path = tmp_path / "dbt-cloud-vars.yml"
    path.write_text(block)
    return path


def jobs_as_code(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # Any attempt to reach dbt Cloud would go to a closed port and fail the run.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    return subprocess.run(
        [str(VENV_BIN / "dbt-jobs-as-code"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rendered_jobs(tmp_path: Path) -> dict[str, Any]:
    values = YAML(typ="safe").load(vars_file(tmp_path).read_text())
    text = Environment(undefined=StrictUndefined).from_string(JOBS.read_text()).render(values)
    loaded: dict[str, Any] = YAML(typ="safe").load(text)
    return loaded


def test_jobs_yml_validates_offline_with_the_docs_command(tmp_path: Path) -> None:
    (command,) = [b for b in fenced("bash") if b.startswith("dbt-jobs-as-code validate")]
    args = shlex.split(command)[1:]
    args[args.index("dbt-cloud-vars.yml")] = str(vars_file(tmp_path))
    proc = jobs_as_code(args, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid YML format" in proc.stderr + proc.stdout


def test_jobs_yml_validation_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "jobs.yml"
    broken.write_text(JOBS.read_text().replace("execute_steps:", "steps_to_run:"))
    proc = jobs_as_code(["validate", str(broken), "--vars-yml", str(vars_file(tmp_path))], tmp_path)
    assert proc.returncode != 0
    assert "execute_steps" in proc.stdout + proc.stderr
    # Without the vars the template cannot be validated at all.
    proc = jobs_as_code(["validate", str(JOBS)], tmp_path)
    assert proc.returncode != 0 and "account_id" in proc.stdout + proc.stderr


def test_jobs_yml_against_the_package_schema_and_models(tmp_path: Path) -> None:
    import dbt_jobs_as_code
    from dbt_jobs_as_code.loader.load import load_job_configuration
    from dbt_jobs_as_code.schemas.job import DESCRIPTION_MAX_LENGTH, JobDefinition

    config = rendered_jobs(tmp_path)
    schema_path = Path(dbt_jobs_as_code.__file__).parent / "schemas" / "load_job_schema.json"
    jsonschema.validate(config, json.loads(schema_path.read_text()))
    assert set(config["jobs"]) == {"oie_build", "oie_full_check"}
    loaded_jobs = load_job_configuration([str(JOBS)], [str(vars_file(tmp_path))]).jobs
    for identifier, job in config["jobs"].items():
        # The models ignore unknown keys: a misspelt one would silently do nothing.
        unknown = set(job) - set(JobDefinition.model_fields)
        assert not unknown, unknown
        loaded = loaded_jobs[identifier]
        assert loaded.job_type == "scheduled" and loaded.triggers.schedule is True
        assert loaded.schedule is not None and croniter.is_valid(loaded.schedule.cron)
        ids = (loaded.account_id, loaded.project_id, loaded.environment_id)
        assert ids == (12345, 67890, 13579)
        # The identifier fits in the description too (dbt-jobs-as-code --use-desc-for-id).
        assert len(f"{loaded.description} [[{identifier}]]") <= DESCRIPTION_MAX_LENGTH

    # The scheduled build: the scheduled command, its tests on the run's own rows.
    build = loaded_jobs["oie_build"]
    assert build.execute_steps == [scheduled_dbt_command()]
    assert job_env(config["jobs"]["oie_build"]) == {TEST_SCOPE_ENV: "new"}
    # A run ends before the next is due, like the Cloud Run job's task timeout.
    assert build.schedule is not None
    interval = int(build.schedule.cron.split()[0].removeprefix("*/")) * 60
    assert 0 < build.execution.timeout_seconds < interval

    # The nightly full check: every data test on every row, no model rebuilt.
    check = loaded_jobs["oie_full_check"]
    assert check.execute_steps == [FULL_CHECK_DBT_COMMAND]
    assert FULL_CHECK_DBT_COMMAND == "dbt test --exclude-resource-type unit_test"
    assert job_env(config["jobs"]["oie_full_check"]) == {TEST_SCOPE_ENV: "all"}
    assert check.schedule is not None and croniter(check.schedule.cron).get_next(float) > 0
    assert check.schedule.cron.split()[0].isdigit(), "once a day, not every few minutes"


def job_env(job: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(v) for item in job.get("custom_environment_variables", []) for k, v in item.items()
    }


# ---------------------------------------------------------------------------------------------
# One command, one lock


def test_one_command_and_one_lock_everywhere(tmp_path: Path, gcloud: Gcloud) -> None:
    command = scheduled_dbt_command()
    lock = f"$OIE_DATA_DIR/{LOCK_NAME}"
    text = doc_text()
    assert lock in text

    # dbt Cloud: its one step is the command; after it, `oie run --skip-dbt` under the lock.
    job = rendered_jobs(tmp_path)["jobs"]["oie_build"]
    assert job["execute_steps"] == [command]
    assert command in job["description"]
    assert "`oie run --skip-dbt`" in job["description"] and lock in job["description"]

    # Cloud Run: `oie run` (or --skip-dbt), OIE_DATA_DIR set, so the lock is named.
    for skip, args in (("0", "run"), ("1", "run,--skip-dbt")):
        gcloud.reset_log()
        gcloud.state.unlink(missing_ok=True)
        proc = schedule(gcloud, SKIP_DBT=skip)
        run_job = gcloud.calls()[1]
        assert (flag(run_job, "--command"), flag(run_job, "--args")) == ("oie", args)
        data_dir = env_vars(run_job)["OIE_DATA_DIR"]
        assert f"under the lock {data_dir}/{LOCK_NAME}" in proc.stdout
        assert f"`{data_dir}/{LOCK_NAME}`" in text

    # cron: `oie run` itself (it takes the lock), with OIE_DATA_DIR set on the line.
    _, cron_command = split_cron(cron_lines()[0])
    match = re.search(r"OIE_DATA_DIR=(\S+) \.venv/bin/oie run ", cron_command)
    assert match, cron_command
    assert f"`{match.group(1)}/{LOCK_NAME}`" in text

    # `oie run` builds with the same command: one source, in oie/run.py.
    from oie import run as run_module

    assert getattr(run_module, "SCHEDULED_DBT_COMMAND", None) == command, (
        "oie/run.py must define SCHEDULED_DBT_COMMAND = the page's scheduled dbt command"
    )


def test_oie_run_builds_with_the_scheduled_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oie import run as run_module
    from oie_core.settings import Settings

    seen: list[list[str]] = []
    scopes: list[str] = []

    def fake_run(
        args: list[str], *, env: dict[str, str], **_: object
    ) -> subprocess.CompletedProcess[str]:
        seen.append(list(args))
        scopes.append(env[run_module.TEST_SCOPE_ENV])
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)  # dbt itself is not started
    settings = Settings.from_env({"OIE_DATA_DIR": str(tmp_path / "data")})
    result = run_module.step_dbt(settings, run_module.RunOptions())
    assert result.status == "ok", result
    assert scopes == ["new"], "a scheduled run tests only the rows it wrote"
    (args,) = seen
    # oie/dbt_process.py: dbt's command line, without dbt's manifest.json copies
    assert Path(args[0]).name == "oie-dbt"
    words = ["dbt"]
    rest = iter(args[1:])
    for word in rest:
        if word in ("--project-dir", "--profiles-dir"):
            next(rest)  # where, not what
        elif word != "--quiet":
            words.append(word)
    assert " ".join(words) == scheduled_dbt_command()


def test_shell_scripts_are_strict() -> None:
    text = SCHEDULE.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    assert os.access(SCHEDULE, os.X_OK)
