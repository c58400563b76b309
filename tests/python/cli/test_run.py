"""`oie run`: the lock (sequential and concurrent runs) and catching up after a killed dbt."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from .conftest import Cli

SNAPSHOT_SQL = """
    select lead_id, total_sessions, total_pageviews, total_active_s, score_recency,
           score_frequency, score_engagement, score_high_intent, score_conversions,
           intent_score, engagement_level
    from lead_profiles order by lead_id
"""


def as_of_vars() -> str:
    # A fixed scoring clock makes two builds comparable (recency is measured against it).
    as_of = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    return json.dumps({"oie_as_of": as_of})


def seed_traffic(cli: Cli, visitors: int = 60, seed: int = 1) -> None:
    lines = "".join(f"lead{i}@example.com,Lead{i},Co{i}\n" for i in range(40))
    (cli.cwd / "leads.csv").write_text("email,first_name,company\n" + lines)
    cli(
        "campaign",
        "create",
        "leads.csv",
        "--campaign",
        "Run test",
        "--landing-url",
        "http://127.0.0.1/",
        check=True,
    )
    cli(
        "simulate",
        "--visitors",
        str(visitors),
        "--days",
        "3",
        "--seed",
        str(seed),
        "--start-server",
        "--site",
        "http://127.0.0.1:5173",
        check=True,
    )


def snapshot(data_dir: Path, sql: str = SNAPSHOT_SQL) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def lock_holder(data_dir: Path) -> int | None:
    try:
        return json.loads((data_dir / "oie-run.lock").read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def test_skip_dbt_reports_every_step(cli: Cli) -> None:
    proc = cli("run", "--skip-dbt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for needle in (
        "seal landing files",
        "skipped dbt build",
        "--skip-dbt",
        "skipped kv sync",
        "skipped alerts",
        "skipped crm sync",
        "not configured (OIE_HUBSPOT_TOKEN is not set)",
        "pipeline finished",
    ):
        assert needle in out, out


def test_run_seals_files_left_open_by_a_dead_writer(cli: Cli) -> None:
    """Step 1 seals an orphaned `.ndjson.open` (no live flock): good lines become readable,
    the torn tail moves to the rejected stream; nothing is dropped."""
    folder = cli.data_dir / "landing" / "events" / "dt=2026-11-21" / "hr=10"
    folder.mkdir(parents=True)
    orphan = folder / "host-99999-deadbeef.ndjson.open"
    good = json.dumps(
        {"event_id": "e1", "type": "pageview", "received_at": "2026-11-21T10:00:00.000Z"}
    )
    orphan.write_text(good + "\n" + '{"event_id": "e2", "ty')
    proc = cli("run", "--skip-dbt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not orphan.exists()
    assert (folder / "host-99999-deadbeef.ndjson").read_text() == good + "\n"
    rejected = [
        json.loads(line)
        for path in (cli.data_dir / "landing" / "rejected").glob("dt=*/hr=*/*.ndjson")
        for line in path.read_text().splitlines()
    ]
    assert [r["reason"].split(":")[0] for r in rejected] == ["torn_line"]
    assert rejected[0]["raw"] == '{"event_id": "e2", "ty'


def test_bad_vars_is_a_clear_error(cli: Cli) -> None:
    proc = cli("run", "--vars", "{not json")
    assert proc.returncode == 2
    assert "--vars must be a JSON object" in proc.stderr


def test_concurrent_runs_refuse_or_wait_then_run_again(cli: Cli) -> None:
    """A holds the lock; B (--no-wait) exits 75 at once; C (--wait) runs right after A,
    and the second build in a row changes nothing."""
    seed_traffic(cli)
    variables = as_of_vars()
    a = cli.popen("run", "--vars", variables)
    deadline = time.monotonic() + 60
    while lock_holder(cli.data_dir) != a.pid:
        assert a.poll() is None, a.stdout.read() if a.stdout else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    b = cli("run", "--vars", variables)
    assert b.returncode == 75, b.stdout + b.stderr
    assert "another `oie run` is in progress" in b.stderr
    assert f"pid {a.pid}" in b.stderr
    c = cli.popen("run", "--wait", "--vars", variables)
    out_a, _ = a.communicate(timeout=300)
    assert a.returncode == 0, out_a
    after_a = snapshot(cli.data_dir)
    out_c, _ = c.communicate(timeout=300)
    assert c.returncode == 0, out_c
    assert "waiting for the running pipeline to finish" in out_c
    assert lock_holder(cli.data_dir) == c.pid
    assert len(after_a) == 40
    assert any(row[-1] != "cold" for row in after_a), after_a
    assert snapshot(cli.data_dir) == after_a


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_run_after_dbt_is_killed_mid_build_catches_up(cli: Cli) -> None:
    seed_traffic(cli, seed=2)
    variables = as_of_vars()
    run = cli.popen("run", "--vars", variables)
    killed = False
    lines = []
    assert run.stdout is not None
    for line in run.stdout:
        lines.append(line)
        m = re.search(r"\b(\d+) of (\d+) OK created", line)
        if m and int(m.group(1)) >= 4 and not killed:
            for kid in _children(run.pid):
                os.kill(kid, signal.SIGKILL)  # the dbt subprocess, mid-build
            killed = True
    run.wait(timeout=120)
    out = "".join(lines)
    assert killed, out
    assert run.returncode == 1, out
    assert "FAILED dbt build" in out

    # More traffic arrives (today's, received now: a live server's receive times only grow);
    # the next run must pick up both the work the killed build missed and the new events.
    cli(
        "simulate",
        "--visitors",
        "30",
        "--days",
        "1",
        "--seed",
        "3",
        "--start-server",
        "--site",
        "http://127.0.0.1:5173",
        check=True,
    )
    cli("run", "--vars", variables, check=True)
    caught_up = snapshot(cli.data_dir)
    events = snapshot(cli.data_dir, "select count(*), count(distinct event_id) from events")
    cli("run", "--full-refresh", "--vars", variables, check=True)
    assert snapshot(cli.data_dir) == caught_up
    assert snapshot(cli.data_dir, "select count(*), count(distinct event_id) from events") == events
    assert events[0][0] == events[0][1] > 0
