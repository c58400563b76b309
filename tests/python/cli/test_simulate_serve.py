"""`oie simulate` (deterministic, realistic, through the real ingest code) and `oie serve`."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

from oie.traffic.journeys import plan_journeys
from oie.traffic.model import Journey, SimLead
from tests.python.helpers.servers import http_call

from .conftest import Cli

SITE = "http://127.0.0.1:5173"


def landed(data_dir: Path, stream: str = "events") -> list[dict]:
    rows = []
    for path in sorted((data_dir / "landing" / stream).glob("dt=*/hr=*/*.ndjson")):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def make_campaign(cli: Cli, n: int = 40) -> None:
    lines = "".join(f"lead{i}@example.com,Lead{i}\n" for i in range(n))
    (cli.cwd / "leads.csv").write_text("email,first_name\n" + lines)
    cli(
        "campaign",
        "create",
        "leads.csv",
        "--campaign",
        "Sim",
        "--landing-url",
        "http://127.0.0.1/",
        check=True,
    )


def test_plan_is_a_pure_function_of_the_seed() -> None:
    leads = [SimLead(f"l{i}@example.com", f"0token{i:05d}", "c") for i in range(30)]
    kwargs = {
        "visitors": 100,
        "days": 5,
        "today_start": 1_763_769_600.0,
        "now": 1_763_769_600.0 + 15 * 3600,
        "site": SITE,
    }
    one = plan_journeys(leads, seed=4, **kwargs)
    two = plan_journeys(leads, seed=4, **kwargs)
    other = plan_journeys(leads, seed=5, **kwargs)

    def ids(journeys: list[Journey]) -> list[tuple]:
        return [
            (
                type(a).__name__,
                round(a.at, 3),
                tuple(e["event_id"] for e in getattr(a, "events", [])),
            )
            for j in journeys
            for a in j.actions
        ]

    assert ids(one) == ids(two)
    assert ids(one) != ids(other)
    personas = Counter(j.persona for j in one)
    assert set(personas) >= {"lead", "anonymous", "bot", "forwarded"}
    # Every action happens before `now`, and no earlier than `days` ago.
    times = [a.at for j in one for a in j.actions]
    assert max(times) <= kwargs["now"] and min(times) >= kwargs["today_start"] - 5 * 86400


def test_simulate_through_server_is_deterministic_and_realistic(cli: Cli, tmp_path: Path) -> None:
    make_campaign(cli)
    args = (
        "simulate",
        "--visitors",
        "150",
        "--days",
        "4",
        "--seed",
        "7",
        "--start-server",
        "--site",
        SITE,
    )
    proc = cli(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HTTP requests (today)" in proc.stdout
    events = landed(cli.data_dir)
    assert not landed(cli.data_dir, "rejected")

    # Same seed, fresh install with the same secret: the same browser events.
    other = Cli({**cli.env, "OIE_DATA_DIR": str(tmp_path / "again")}, cli.cwd)
    make_campaign(other)
    assert other(*args).returncode == 0
    again = landed(other.data_dir)

    def browser_ids(rows: list[dict]) -> set[str]:
        return {r["event_id"] for r in rows if r["type"] != "email_click"}  # /go mints ids

    assert browser_ids(events) == browser_ids(again)

    types = Counter(e["type"] for e in events)
    for t in ("pageview", "scroll_depth", "page_exit", "email_click", "form_submit", "video"):
        assert types[t] > 0, types
    days = {e["received_at"][:10] for e in events}
    assert len(days) >= 3, days  # earlier days landed through the simulated clock
    submits = [e for e in events if e["type"] == "form_submit"]
    assert all(len(e["data"]["hems"]["sha256"]) == 64 for e in submits)
    assert not any("@" in json.dumps(e["data"]) for e in submits)  # hashes only
    clicks = [e for e in events if e["type"] == "email_click"]
    assert {c["data"]["scanner"] for c in clicks} == {True, False}
    assert any(e["is_bot"] for e in events) and not all(e["is_bot"] for e in events)
    visitors_per_token = Counter()
    for token, _vid in {(e["token"], e["visitor_id"]) for e in events if e["token"]}:
        visitors_per_token[token] += 1
    assert max(visitors_per_token.values()) >= 2  # device switches and forwarded links
    assert any(e["token"] is None and not e["is_bot"] for e in events)  # anonymous visitors
    assert {e["device"] for e in events} >= {"desktop", "mobile"}


def test_simulate_without_a_server_fails_clearly(cli: Cli) -> None:
    proc = cli("simulate", "--visitors", "20", "--days", "1", "--endpoint", "http://127.0.0.1:9")
    assert proc.returncode == 1
    assert "cannot reach the server" in proc.stderr
    proc = cli("simulate", "--visitors", "0")
    assert proc.returncode == 2 and "--visitors" in proc.stderr


def _read_until(stream, pattern: str, timeout: float = 60) -> tuple[re.Match[str], str]:
    deadline = time.monotonic() + timeout
    seen = ""
    for line in stream:
        seen += line
        m = re.search(pattern, seen)
        if m:
            return m, seen
        assert time.monotonic() < deadline, seen
    raise AssertionError(seen)


def test_serve_prints_working_urls_and_stops_cleanly(cli: Cli) -> None:
    make_campaign(cli, 3)
    proc = cli.popen("serve", "--port", "0", "--site-port", "0")
    try:
        m, out = _read_until(proc.stdout, r"email link\s+(\S+)")
        link = m.group(1)
        collector = re.search(r"collector\s+(http://\S+)", out).group(1)
        site = re.search(r"example site\s+(http://\S+)", out).group(1)
        assert http_call(collector + "/health").status == 200
        assert http_call(collector + "/oie.js").status == 200
        token = re.search(r"i=([0-9A-Za-z]{11})", link).group(1)
        go = http_call(link, headers={"User-Agent": "Mozilla/5.0 Chrome/131"})
        assert go.status == 302
        assert go.headers["location"] == f"{site}/pricing.html?i={token}"
        page = http_call(site + "/pricing.html")
        assert page.status == 200 and collector.encode() in page.body
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired as exc:
            # never mask the body's own failure; say what the server was doing
            proc.kill()
            log = cli.data_dir / "serve.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise AssertionError(f"oie serve ignored Ctrl-C for 60 s; serve.log:\n{tail}") from exc
    assert proc.returncode == 0
    port = int(collector.rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the collector is gone too
    clicks = [e for e in landed(cli.data_dir) if e["type"] == "email_click"]
    assert [c["token"] for c in clicks] == [token]  # sealed at shutdown, nothing lost


def test_serve_port_in_use(cli: Cli) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        proc = cli("serve", "--port", str(busy), "--no-site")
    assert proc.returncode == 2
    assert "already in use" in proc.stderr


def test_simulate_against_a_rate_limited_server_says_why(cli: Cli) -> None:
    from tests.python.helpers.servers import start_ingest_server

    make_campaign(cli, 10)
    with start_ingest_server(
        {"OIE_RATE_LIMIT": "5", "OIE_TOKEN_SECRET": cli.env["OIE_TOKEN_SECRET"]},
        data_dir=cli.data_dir,
    ) as srv:
        proc = cli(
            "simulate", "--visitors", "40", "--days", "1", "--endpoint", srv.url, "--site", SITE
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "rate-limits this machine (429)" in proc.stderr
    assert "OIE_RATE_LIMIT=0" in proc.stderr
