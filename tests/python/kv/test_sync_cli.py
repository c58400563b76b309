"""`oie sync` and `oie run`'s KV sync step through the real entry point (.venv/bin/oie) in a
subprocess, against the Cloudflare stand-in on 127.0.0.1: a sync killed between two
requests resumes without losing or re-sending a key, each bad input is one line with the
documented exit code, and the lock is the `oie run` lock."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from oie.run_lock import run_lock
from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.cf_standin import CloudflareStandin, start_cf_standin
from tests.python.kv.support import (
    keys_of,
    lead_rows,
    profile,
    state_rows,
    write_edge_profiles,
)


def kv_cli(tmp_path: Path, **extra: str) -> Cli:
    """The CLI with its own data folder and no Cloudflare setting of the caller's."""
    env = {k: v for k, v in cli_env(tmp_path / "data", **extra).items()}
    for name in list(env):
        if name.startswith("CLOUDFLARE_") and name not in extra:
            del env[name]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return Cli(env, work)


def cloudflare(cf: CloudflareStandin, **overrides: str) -> dict[str, str]:
    return {
        "OIE_KV": "cloudflare",
        "CLOUDFLARE_API_TOKEN": cf.token,
        "CLOUDFLARE_ACCOUNT_ID": cf.account,
        "OIE_KV_NAMESPACE_ID": cf.namespace,
        "CLOUDFLARE_BASE_URL": cf.base_url,
        **overrides,
    }


@pytest.fixture
def cf() -> Iterator[CloudflareStandin]:
    with start_cf_standin() as standin:
        yield standin


def test_a_sync_killed_between_requests_resumes_without_loss_or_resend(
    tmp_path: Path, cf: CloudflareStandin
) -> None:
    cli = kv_cli(tmp_path, **cloudflare(cf))
    rows = lead_rows(12_500)  # 25,000 keys: three bulk writes
    write_edge_profiles(cli.data_dir, rows)
    cf.hold_write(2)  # the second request arrives and waits: the sync is killed meanwhile
    proc = cli.popen("sync")
    assert cf.held.wait(120), "the second request never came"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    cf.release()  # the held request is dropped, never applied

    first = keys_of(cf.writes())
    assert len(first) == 1 and len(first[0]) == 10_000
    assert set(state_rows(cli.data_dir)) == set(first[0]) == set(cf.values())

    cf.hold_at = None
    cf.forget_calls()
    done = cli("sync")  # the kill released the lock with the process
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = keys_of(cf.writes())
    assert [len(k) for k in resumed] == [10_000, 5_000]
    assert not set(first[0]) & {k for batch in resumed for k in batch}  # nothing sent twice
    assert cf.values() == rows and len(state_rows(cli.data_dir)) == 25_000
    assert "pushed 15000 key(s) (15000 new, 0 changed, 0 refreshed)" in done.stdout


def test_sync_prints_counts_and_lists_the_keys_that_failed(
    tmp_path: Path, cf: CloudflareStandin
) -> None:
    cli = kv_cli(tmp_path, **cloudflare(cf))
    rows = lead_rows(2)
    rows["v:" + "x" * 600] = profile(9)
    write_edge_profiles(cli.data_dir, rows)
    proc = cli("sync")
    assert proc.returncode == 1
    assert proc.stdout.strip().endswith(
        "pushed 4 key(s) (4 new, 0 changed, 0 refreshed), deleted 0, 1 failed, 1 request(s), "
        "compared every key"
    )
    assert (
        proc.stderr == f"failed: v:{'x' * 600}: key is 602 bytes (Workers KV takes at most 512)\n"
    )
    # The key that failed is the one left: a dry run says it would fail again.
    dry = cli("sync", "--dry-run")
    assert dry.returncode == 0 and dry.stderr == proc.stderr
    assert dry.stdout.strip().endswith(
        "would push 0 key(s) (0 new, 0 changed, 0 refreshed), would delete 0, 1 failed, "
        "compared every key"
    )


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        (("CLOUDFLARE_ACCOUNT_ID",), "CLOUDFLARE_ACCOUNT_ID (the account"),
        (("OIE_KV_NAMESPACE_ID",), "OIE_KV_NAMESPACE_ID (the Workers KV namespace"),
        (
            ("CLOUDFLARE_ACCOUNT_ID", "OIE_KV_NAMESPACE_ID"),
            "CLOUDFLARE_ACCOUNT_ID (the account that owns the namespace) and OIE_KV_NAMESPACE_ID",
        ),
    ],
)
def test_cloudflare_without_its_ids_is_one_line_and_exit_2(
    tmp_path: Path, cf: CloudflareStandin, drop: tuple[str, ...], named: str
) -> None:
    env = cloudflare(cf)
    for name in drop:
        del env[name]
    cli = kv_cli(tmp_path, **env)
    write_edge_profiles(cli.data_dir, lead_rows(1))
    for args in (("sync",), ("run", "--skip-dbt")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], proc.stderr
    assert cf.calls == []


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (("sync",), {"OIE_KV_TTL": "30s"}, "error: OIE_KV_TTL='30s': must be at least 60s"),
        (
            ("sync", "--dry-run", "--reconcile"),
            {},
            "error: --reconcile rewrites the sync state: run it without --dry-run",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    tmp_path: Path,
    cf: CloudflareStandin,
    args: tuple[str, ...],
    extra: dict[str, str],
    message: str,
) -> None:
    cli = kv_cli(tmp_path, **cloudflare(cf, **extra))
    write_edge_profiles(cli.data_dir, lead_rows(1))
    proc = cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message) and len(proc.stderr.strip().splitlines()) == 1
    assert cf.calls == []


def test_a_rejected_token_is_one_line_exit_2_and_the_state_untouched(
    tmp_path: Path, cf: CloudflareStandin
) -> None:
    cli = kv_cli(tmp_path, **cloudflare(cf, CLOUDFLARE_API_TOKEN="revoked-token"))
    write_edge_profiles(cli.data_dir, lead_rows(3))
    proc = cli("sync")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: Cloudflare rejected the API token (HTTP 403")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert state_rows(cli.data_dir) == {} and cf.values() == {}


def test_sync_takes_the_run_lock(tmp_path: Path, cf: CloudflareStandin) -> None:
    cli = kv_cli(tmp_path, **cloudflare(cf))
    write_edge_profiles(cli.data_dir, lead_rows(1))
    with run_lock(cli.data_dir, wait=False):
        proc = cli("sync")
    assert proc.returncode == 75
    assert "another `oie run` or `oie sync` holds the lock (pid" in proc.stderr
    assert cf.calls == []


def test_oie_run_syncs_as_its_kv_step(tmp_path: Path, cf: CloudflareStandin) -> None:
    cli = kv_cli(tmp_path, **cloudflare(cf))
    rows = lead_rows(3)
    write_edge_profiles(cli.data_dir, rows)
    proc = cli("run", "--skip-dbt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    step = next(line for line in proc.stdout.splitlines() if "kv sync (" in line)
    assert step.strip().startswith("ok kv sync (")
    assert step.endswith(
        f"cloudflare:{cf.account}/{cf.namespace}: pushed 6 key(s) (6 new, 0 changed, "
        "0 refreshed), deleted 0, 0 failed, 1 request(s), compared every key"
    )
    assert cf.values() == rows
    again = cli("run", "--skip-dbt")
    assert "pushed 0 key(s)" in again.stdout and "0 request(s)" in again.stdout


def test_before_anything_is_built_sync_says_so_and_run_skips_the_step(tmp_path: Path) -> None:
    cli = kv_cli(tmp_path, OIE_KV="local")
    proc = cli("sync")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no warehouse at ") and "run `oie run`" in proc.stderr
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0, run.stdout + run.stderr
    step = next(line for line in run.stdout.splitlines() if "kv sync (" in line)
    assert "skipped kv sync" in step and "nothing to sync: no warehouse at" in step
    assert not (cli.data_dir / "kv.sqlite").exists()


def test_help_has_examples(tmp_path: Path) -> None:
    proc = kv_cli(tmp_path)("sync", "--help")
    assert proc.returncode == 0
    assert "Examples" in proc.stdout and "oie sync --reconcile" in proc.stdout
