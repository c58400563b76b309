"""`oie forget`'s edges, through the real command: bad selectors, a person nobody holds,
--dry-run, the run lock, --token and --visitor, and a visitor forgotten while the real
ingest server is still writing their events (gone after the next seal)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from oie.run_lock import run_lock
from oie_core import tombstones as tb
from tests.python.cli.conftest import Cli
from tests.python.helpers.sequencer_payloads import WEBHOOK_ENV, post_smartlead, smartlead
from tests.python.helpers.servers import start_ingest_server
from tests.python.privacy.support import (
    import_leads,
    land_events,
    needles_for,
    scan_files,
    scan_tables,
)

ORIGIN = "http://127.0.0.1:5173"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one"),
        (["--email", "a@b.example", "--visitor", "vis-12345678"], "give exactly one"),
        (["--email", "not-an-address"], "--email is not an email address"),
        (["--token", "short"], "--token is not a token"),
        (["--token", "0AbCdEfGh1!"], "--token is not a token"),
        (["--visitor", "has space 1"], "--visitor is not a visitor id"),
    ],
)
def test_bad_selectors_exit_2_naming_it(cli: Cli, args: list[str], message: str) -> None:
    proc = cli("forget", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    if not args or len(args) > 2:
        assert "Usage: oie forget" in proc.stderr
    assert not (cli.data_dir / "landing" / "tombstones").exists()


def test_unknown_person_holds_nothing_but_is_tombstoned(cli: Cli) -> None:
    proc = cli("forget", "--email", "Nobody@Example.com")
    assert proc.returncode == 0, proc.stderr
    assert "nothing held for this email" in proc.stdout
    assert "recorded 1 tombstone(s)" in proc.stdout
    stones = tb.load(cli.data_dir / "landing")
    key = tb.TombstoneKey((cli.data_dir / "tombstone_secret").read_text().strip())
    assert stones.holds("email", key.hash("email", "nobody@example.com"))
    # The list holds the keyed hash only: not the address, nor any plain digest of it.
    raw = b"".join(p.read_bytes() for p in (cli.data_dir / "landing").rglob("*.ndjson"))
    assert b"nobody" not in raw
    assert hashlib.sha256(b"nobody@example.com").hexdigest().encode() not in raw
    again = cli("forget", "--email", "nobody@example.com")
    assert "recorded 0 tombstone(s)" in again.stdout  # idempotent


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dry_run_counts_and_changes_nothing(cli: Cli) -> None:
    visitors = ("vis-dry-run-1", "vis-dry-run-1", "vis-someone-2")
    land_events(
        cli.data_dir, *({"visitor_id": v, "url": "https://acme.example/"} for v in visitors)
    )
    before = _snapshot(cli.data_dir / "landing")
    proc = cli("forget", "--visitor", "vis-dry-run-1", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "landing files: would remove 2 line(s) from 1 file(s)" in proc.stdout
    assert "would record 1 tombstone(s)" in proc.stdout
    assert _snapshot(cli.data_dir / "landing") == before

    done = cli("forget", "--visitor", "vis-dry-run-1")
    assert "landing files: removed 2 line(s) from 1 file(s)" in done.stdout
    events = [p for p in (cli.data_dir / "landing" / "events").rglob("*.ndjson")]
    assert b"vis-dry-run-1" not in b"".join(p.read_bytes() for p in events)
    assert b"vis-someone-2" in b"".join(p.read_bytes() for p in events)


def test_a_running_pipeline_makes_forget_exit_75(cli: Cli) -> None:
    with run_lock(cli.data_dir, wait=False):
        proc = cli("forget", "--visitor", "vis-locked-01")
    assert proc.returncode == 75
    assert "holds the lock" in proc.stderr


def test_forget_by_token_finds_the_lead_and_its_visitors(cli: Cli) -> None:
    ada_token = import_leads(cli, "ada@example.com", "bob@example.com")["ada@example.com"]
    land_events(
        cli.data_dir,
        {"visitor_id": "vis-ada-by-token", "token": ada_token},
        {"visitor_id": "vis-ada-by-token", "token": None},
        {"visitor_id": "vis-bob-stays-1", "token": None},
    )
    proc = cli("forget", "--token", ada_token)
    assert proc.returncode == 0, proc.stderr
    ada = needles_for("ada@example.com", [ada_token], ["vis-ada-by-token"], [])
    assert scan_files([cli.data_dir], ada) == []
    assert scan_tables(cli.data_dir, ada) == []
    landed = b"".join(p.read_bytes() for p in (cli.data_dir / "landing").rglob("*.ndjson"))
    assert b"vis-bob-stays-1" in landed and b"bob@example.com" in landed


def test_forgotten_while_the_server_writes_gone_after_the_next_seal(cli: Cli) -> None:
    env = {"OIE_TOKEN_SECRET": cli.env["OIE_TOKEN_SECRET"], "OIE_LANDING_MAX_AGE": "1h"}
    visitor, other = "vis-live-writer", "vis-live-other"

    def track(url: str, vid: str) -> None:
        body = {
            "events": [
                {
                    "event_id": str(uuid.uuid4()),
                    "type": "pageview",
                    "ts": int(time.time() * 1000),
                    "visitor_id": vid,
                    "session_id": f"ses-{vid}",
                    "url": ORIGIN + "/pricing",
                    "data": {"title": "Pricing"},
                }
            ],
            "meta": {"sent_at": int(time.time() * 1000)},
        }
        reply = requests.post(
            url + "/track",
            data=json.dumps(body),
            headers={"Origin": ORIGIN, "Content-Type": "application/json"},
            timeout=10,
        )
        assert reply.status_code == 200

    with start_ingest_server(env, data_dir=cli.data_dir) as srv:
        track(srv.url, visitor)
        track(srv.url, other)
        assert list((cli.data_dir / "landing" / "events").rglob("*.ndjson.open"))
        proc = cli("forget", "--visitor", visitor)
        assert proc.returncode == 0, proc.stderr
        assert "landing files still open: 1 file(s)" in proc.stdout
        # Until the server reloads its tombstones (every minute) it still lands them.
        track(srv.url, visitor)
        assert visitor in {r["visitor_id"] for r in srv.landed("events")}
    run = cli("run", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "line(s) of forgotten people dropped" in run.stdout
    gone = needles_for("nobody@example.invalid", [], [visitor], [])[4:]
    assert scan_files([cli.data_dir], gone) == []
    assert scan_tables(cli.data_dir, gone) == []
    landed = b"".join(p.read_bytes() for p in (cli.data_dir / "landing").rglob("*.ndjson"))
    assert other.encode() in landed


def test_workers_kv_keys_are_deleted_through_the_api(cli: Cli) -> None:
    from tests.python.helpers.cf_standin import Stored, start_cf_standin

    tokens = import_leads(cli, "ada@example.com", "bob@example.com")
    ada_token, bob_token = tokens["ada@example.com"], tokens["bob@example.com"]
    with start_cf_standin() as cf:
        for key in (f"t:{ada_token}", f"t:{bob_token}", "v:vis-bob-visitor", "other:key"):
            cf.data[key] = Stored('{"level": "hot"}', None, None)
        env = {
            "OIE_KV": "cloudflare",
            "CLOUDFLARE_API_TOKEN": cf.token,
            "CLOUDFLARE_ACCOUNT_ID": cf.account,
            "OIE_KV_NAMESPACE_ID": cf.namespace,
            "CLOUDFLARE_BASE_URL": cf.base_url,
        }
        kv_cli = Cli({**cli.env, **env}, cli.cwd)
        dry = kv_cli("forget", "--email", "ada@example.com", "--dry-run")
        assert "Workers KV: would remove 1 key(s)" in dry.stdout, dry.stdout + dry.stderr
        assert f"t:{ada_token}" in cf.data
        done = kv_cli("forget", "--email", "ada@example.com")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Workers KV: removed 1 key(s)" in done.stdout
        assert sorted(cf.data) == sorted([f"t:{bob_token}", "v:vis-bob-visitor", "other:key"])


def test_forget_removes_the_persons_email_tool_events(cli: Cli) -> None:
    """Email-tool events hold only the address hash: `oie forget --email` finds them by it."""
    import_leads(cli, "ada@example.com", "bob@example.com")
    with start_ingest_server(WEBHOOK_ENV, data_dir=cli.data_dir) as srv:
        for email, stats in (("ada@example.com", "a1"), ("bob@example.com", "b1")):
            reply = post_smartlead(srv.url, smartlead("EMAIL_REPLY", email, stats_id=stats))
            assert reply.status == 200
    stream = cli.data_dir / "landing" / "email_events"
    assert len(b"".join(p.read_bytes() for p in stream.rglob("*.ndjson")).splitlines()) == 2
    proc = cli("forget", "--email", "Ada@Example.com")
    assert proc.returncode == 0, proc.stderr
    ada = needles_for("ada@example.com", [], [], [])
    assert scan_files([cli.data_dir], ada) == []
    left = b"".join(p.read_bytes() for p in stream.rglob("*.ndjson")).splitlines()
    assert len(left) == 1 and hashlib.sha256(b"bob@example.com").hexdigest().encode() in left[0]
