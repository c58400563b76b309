"""`oie crm sync` and `oie run`'s crm sync step through the real entry point (.venv/bin/oie)
in a subprocess, against the HubSpot stand-in on 127.0.0.1: each bad input is one line with
the documented exit code, refused contacts are listed, the lock is the `oie run` lock, and
the run's sixth step syncs, or says why it did not."""

from __future__ import annotations

from pathlib import Path

from crm_sync import runner
from oie.run_lock import run_lock
from tests.python.cli.conftest import Cli, cli_env
from tests.python.crm.support import (
    email,
    hubspot_env,
    leads,
    settings_for,
    state_exists,
    state_rows,
    write_crm_contacts,
)
from tests.python.helpers.hubspot_standin import HubSpotStandin


def crm_cli(tmp_path: Path, **extra: str) -> Cli:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return Cli(cli_env(tmp_path / "data", **extra), work)


def hubspot(hs: HubSpotStandin, **overrides: str) -> dict[str, str]:
    return {"OIE_HUBSPOT_TOKEN": hs.token, "OIE_HUBSPOT_BASE_URL": hs.base_url, **overrides}


def set_up(cli: Cli, hs: HubSpotStandin) -> None:
    runner.setup(settings_for(hubspot_env(cli.data_dir, hs)))
    hs.forget_calls()


def step_line(stdout: str, name: str = "crm sync") -> str:
    return next(line for line in stdout.splitlines() if f" {name} (" in line).strip()


def test_without_a_token_each_command_is_one_line_and_the_run_step_is_skipped(
    tmp_path: Path,
) -> None:
    cli = crm_cli(tmp_path)
    write_crm_contacts(cli.data_dir, leads(2))
    for args in (("crm", "sync"), ("crm", "sync", "--dry-run"), ("crm", "setup")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: OIE_HUBSPOT_TOKEN is not set")
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[6/6] crm sync ..." in run.stdout
    assert step_line(run.stdout).startswith("skipped crm sync (")
    assert step_line(run.stdout).endswith("): not configured (OIE_HUBSPOT_TOKEN is not set)")
    assert not state_exists(cli.data_dir)


def test_a_rejected_token_is_one_line_exit_2_and_the_state_untouched(
    tmp_path: Path, hs: HubSpotStandin
) -> None:
    cli = crm_cli(tmp_path, **hubspot(hs, OIE_HUBSPOT_TOKEN="pat-na1-revoked"))
    write_crm_contacts(cli.data_dir, leads(3))
    proc = cli("crm", "sync")
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "error: HubSpot rejected the token (OIE_HUBSPOT_TOKEN): Authentication credentials "
        "not found"
    )
    assert len(proc.stderr.strip().splitlines()) == 1
    assert state_rows(cli.data_dir) == {} and hs.contacts == {}
    run = cli("run", "--skip-dbt")
    assert run.returncode == 2
    assert "error: step 'crm sync' failed: HubSpot rejected the token" in run.stderr


def test_sync_prints_the_summary_and_lists_what_hubspot_refused(
    tmp_path: Path, hs: HubSpotStandin
) -> None:
    cli = crm_cli(tmp_path, **hubspot(hs))
    set_up(cli, hs)
    write_crm_contacts(cli.data_dir, leads(3))
    dry = cli("crm", "sync", "--dry-run")
    assert dry.returncode == 0 and hs.calls == []
    assert dry.stdout.strip().endswith("would push 3 contact(s) (3 new, 0 changed), 0 failed")
    hs.fail_inputs({email(1): "Email address is invalid"})
    proc = cli("crm", "sync")
    assert proc.returncode == 1
    assert proc.stdout.strip().endswith(
        "pushed 2 contact(s) (2 new, 0 changed), 1 failed, 1 request(s)"
    )
    assert proc.stderr == f"failed: {email(1)}: VALIDATION_ERROR: Email address is invalid\n"
    again = cli("crm", "sync")
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout.strip().endswith(
        "pushed 1 contact(s) (1 new, 0 changed), 0 failed, 1 request(s)"
    )


def test_sync_takes_the_run_lock(tmp_path: Path, hs: HubSpotStandin) -> None:
    cli = crm_cli(tmp_path, **hubspot(hs))
    write_crm_contacts(cli.data_dir, leads(1))
    with run_lock(cli.data_dir, wait=False):
        proc = cli("crm", "sync")
    assert proc.returncode == 75
    assert "another `oie run` or sync holds the lock (pid" in proc.stderr
    assert hs.calls == []


def test_oie_run_syncs_as_its_sixth_step(tmp_path: Path, hs: HubSpotStandin) -> None:
    cli = crm_cli(tmp_path, **hubspot(hs))
    set_up(cli, hs)
    rows = leads(3)
    write_crm_contacts(cli.data_dir, rows)
    hs.fail_inputs({email(2): "Contact is locked"})
    proc = cli("run", "--skip-dbt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[6/6] crm sync ..." in proc.stdout
    host = hs.base_url.removeprefix("http://")
    assert step_line(proc.stdout).startswith("ok crm sync (")
    assert step_line(proc.stdout).endswith(
        f"hubspot:{host}: pushed 2 contact(s) (2 new, 0 changed), 1 failed, 1 request(s) "
        f"(first failed: {email(2)}: VALIDATION_ERROR: Contact is locked; `oie crm sync` "
        "lists them all)"
    )
    again = cli("run", "--skip-dbt")
    assert step_line(again.stdout).endswith(
        f"hubspot:{host}: pushed 1 contact(s) (1 new, 0 changed), 0 failed, 1 request(s)"
    )
    assert hs.contacts == {k: r.properties for k, r in rows.items()}


def test_before_anything_is_built_sync_says_so_and_run_skips_the_step(
    tmp_path: Path, hs: HubSpotStandin
) -> None:
    cli = crm_cli(tmp_path, **hubspot(hs))
    proc = cli("crm", "sync")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no warehouse at ") and "run `oie run`" in proc.stderr
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "skipped crm sync" in step_line(run.stdout)
    assert "nothing to sync: " in step_line(run.stdout)
    assert hs.calls == []


def test_help_has_examples(tmp_path: Path) -> None:
    cli = crm_cli(tmp_path)
    for command in ("setup", "sync"):
        proc = cli("crm", command, "--help")
        assert proc.returncode == 0
        assert "Example" in proc.stdout and f"oie crm {command}" in proc.stdout
