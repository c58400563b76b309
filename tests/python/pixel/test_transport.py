"""Batching, retries and unload delivery against the real server (faults via OIE_FAULT)."""

from __future__ import annotations

import collections
import itertools
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page

from oie.example_site import ExampleSite, serve_example_site
from tests.python.helpers.environment import inherited_env
from tests.python.helpers.servers import IngestServer, start_ingest_server
from tests.python.pixel.conftest import DIST, REPO
from tests.python.pixel.support import (
    TrackLog,
    events_for,
    pause_clock,
    run_idle,
    visitor_id,
    wait_events,
    wait_for,
    wait_for_with_clock,
)


def queued(page: Page) -> list[dict]:
    return json.loads(page.evaluate("localStorage.getItem('_oie_queue')") or "[]")


def track(page: Page, n: int) -> None:
    for i in range(n):
        page.evaluate(f"oie('track', 'copy', {{chars: {i + 1}}})")


@contextmanager
def own_collector(
    page: Page, tmp_path: Path, env: dict[str, str]
) -> Iterator[tuple[IngestServer, TrackLog, str]]:
    """A collector of the test's own (a fault or a setting in env), the example site on it,
    and the case study loaded on the paused clock: (server, track log, visitor id)."""
    with (
        start_ingest_server(data_dir=tmp_path, env={**env, "OIE_PIXEL_DIR": str(DIST)}) as srv,
        serve_example_site("127.0.0.1", 0, srv.url) as site,
    ):
        log = TrackLog(page, srv.url)
        pause_clock(page)
        page.goto(site.url + "/case-studies/acme.html")
        run_idle(page)
        yield srv, log, visitor_id(page)


def test_batch_of_five_leaves_at_once(page: Page, site: ExampleSite, collector: IngestServer):
    log = TrackLog(page, collector.url)
    pause_clock(page)
    page.goto(site.url + "/case-studies/acme.html")
    run_idle(page)
    visitor_id(page)
    track(page, 3)  # pageview + 3 = 4 events: below the batch size
    # The paused clock runs the idle drain inside run_for: the 4 events are batched (and a
    # batch that left would have been logged) by the time it returns; 1 s is not 10 s.
    page.clock.run_for(1000)
    assert log.requests == []
    track(page, 1)  # the fifth event
    run_idle(page)  # its drain fills the batch, which leaves without a timer
    wait_for(lambda: log.requests, what="the batch of 5")
    assert [len(r["events"]) for r in log.requests] == [5]
    assert log.track_calls()[0]["kind"] == "fetch"


def test_batch_leaves_after_ten_seconds(page: Page, site: ExampleSite, collector: IngestServer):
    log = TrackLog(page, collector.url)
    pause_clock(page)
    page.goto(site.url + "/case-studies/acme.html")
    run_idle(page)  # the drain batches the pageview and starts the 10 s timer, at this ms
    vid = visitor_id(page)
    # A fetch is logged when the pixel calls it, inside run_for: exactly 10 s, not before.
    page.clock.run_for(9_999)
    assert log.requests == []
    page.clock.run_for(1)
    assert len(log.requests) == 1
    assert [e["type"] for e in log.requests[0]["events"]] == ["pageview"]
    assert wait_events(collector, vid, "pageview")


def test_batches_stay_under_64_kb(page: Page, site: ExampleSite, collector: IngestServer):
    log = TrackLog(page, collector.url)
    pause_clock(page)
    page.goto(site.url + "/case-studies/acme.html")
    run_idle(page)
    vid = visitor_id(page)
    for i in range(4):  # 4 x 25 KB: too much for one body
        page.evaluate(f"oie('track', 'click', {{text: 'x'.repeat(25000), id: 'big{i}'}})")
    run_idle(page)  # the drain fills the batch of 5, which leaves in parts
    # Parts sent at once share Chromium's 64 KiB budget for keepalive fetches in flight: one
    # may fail and be retried after the backoff, which needs the page's clock to move.
    wait_for_with_clock(
        page,
        lambda: len(events_for(collector, vid, "click")) >= 4,
        step_ms=1000,
        what="the 4 big clicks landed",
    )
    assert len(log.requests) >= 2
    assert all(len(b.encode()) < 64_000 for b in log.bodies_raw)


def test_pagehide_flush_arrives_once(page: Page, site: ExampleSite, collector: IngestServer):
    log = TrackLog(page, collector.url)
    page.goto(site.url + "/pricing.html")
    vid = visitor_id(page)
    page.click("#buy")  # navigates: pagehide, then visibilitychange(hidden) in Chromium
    page.wait_for_url("**/contact.html")
    visitor_id(page)
    evs = wait_events(collector, vid, count=3)
    first_page = [e for e in evs if e["url"].endswith("/pricing.html")]
    assert {e["type"] for e in first_page} == {"pageview", "click", "page_exit"}
    # Each exactly once: a second flush (visibilitychange after pagehide) would have sent a
    # second page_exit.
    assert len(first_page) == 3
    beacons = [c for c in log.track_calls() if c["kind"] == "beacon"]
    assert len(beacons) == 1  # one sendBeacon (text/plain string body) for the whole page
    assert {e["type"] for e in json.loads(beacons[0]["body"])["events"]} == {
        "pageview",
        "click",
        "page_exit",
    }


def test_hidden_tab_flushes(page: Page, site: ExampleSite, collector: IngestServer):
    from tests.python.pixel.support import hide_page

    page.goto(site.url + "/")
    vid = visitor_id(page)
    hide_page(page)
    types = {e["type"] for e in wait_events(collector, vid, count=2)}
    assert types == {"pageview", "page_exit"}


@pytest.mark.parametrize(
    ("status", "body"),
    # 413: more events than the server's cap (100); a body over 64 KB cannot be sent at all
    # (Chromium refuses keepalive bodies over 64 KiB before they leave).
    [(400, "{not json"), (413, json.dumps({"events": [{}] * 101}))],
)
def test_refused_batches_are_not_retried(
    page: Page, site: ExampleSite, collector: IngestServer, status: int, body: str
):
    """400 and 413 (the server's real answers to a corrupted body) are never retried."""
    log = TrackLog(page, collector.url, corrupt=[body])  # the first body is replaced
    pause_clock(page)
    page.goto(site.url + "/case-studies/acme.html")
    run_idle(page)
    vid = visitor_id(page)
    page.clock.run_for(10_000)  # the batch timer
    wait_for(lambda: log.statuses, what="the refused answer")
    assert log.statuses[0] == status
    lost_ids = {e["event_id"] for e in json.loads(log.track_calls()[0]["original"])["events"]}
    assert lost_ids
    # The log sees the answer before the pixel's handler (same task): a retry it scheduled
    # is on the paused clock now, and fires (is logged) inside this run_for.
    page.clock.run_for(6 * 60_000)  # well past every backoff step (capped at 256 s)
    track(page, 5)  # a healthy batch afterwards goes through
    run_idle(page)
    wait_events(collector, vid, "copy", 5)
    resent = [e for e in log.events() if e.get("event_id") in lost_ids]
    assert resent == [] and queued(page) == []
    # the collector holds the events before the page has read its answer
    wait_for(lambda: log.statuses[1:], what="the healthy batch's answer")
    assert set(log.statuses[1:]) == {200}


def test_a_refused_origin_gets_one_request_and_no_retry_loop(page: Page, tmp_path: Path):
    """A site missing from OIE_ALLOWED_ORIGINS: the collector answers 403 with CORS headers,
    so the pixel reads the refusal (a status, not a network error) and drops the batch
    instead of retrying it every few minutes forever."""
    env = {"OIE_ALLOWED_ORIGINS": "https://www.example.com"}
    with own_collector(page, tmp_path, env) as (srv, log, vid):
        track(page, 5)  # a full batch leaves at once
        run_idle(page)
        wait_for(lambda: log.statuses, what="the refusal")
        assert log.statuses == [403]  # readable: a network error would log no status
        page.clock.run_for(6 * 60_000)  # well past every backoff step (capped at 256 s)
        # The batch the 10 s timer sent is answered before the page goes: one still in
        # flight then has no known outcome, and sending it again is at-least-once delivery.
        wait_for(lambda: unanswered(log) == [], what="every batch answered")
        page.reload()  # a page load also retries a stored queue
        run_idle(page)
        page.clock.run_for(60_000)
        wait_for(lambda: unanswered(log) == [], what="the next page's batches answered")
        # The next page's own events are refused too; no refused event was sent again.
        calls = log.track_calls()
        assert set(log.statuses) == {403}
        refused = [sent_ids(call) for call in calls if call["status"] == 403]
        assert sum(len(ids) for ids in refused) > 5
        for at, call in enumerate(calls):
            if call["status"] == 403:
                again = sent_ids(call) & {i for later in calls[at + 1 :] for i in sent_ids(later)}
                assert not again, calls
        # Nor was any other: a beacon the browser would not send is no send.
        ids = [i for call in calls if call.get("queued", True) for i in sent_ids(call)]
        assert len(ids) == len(set(ids)), calls
        assert queued(page) == [] and events_for(srv, vid) == []


def sent_ids(call: dict) -> set[str]:
    return {e["event_id"] for e in json.loads(call["body"])["events"]}


def unanswered(log: TrackLog) -> list[dict]:
    """fetch calls to /track still waiting for their answer."""
    return [c for c in log.track_calls() if c["kind"] == "fetch" and c["status"] is None]


# --- 503, network errors, the retry queue, and exactly-once in the events mart --------------


def test_503_then_recovery_lands_everything_once_in_the_mart(page: Page, tmp_path: Path):
    env = {"OIE_FAULT": "sink-503-next-3"}
    with own_collector(page, tmp_path, env) as (faulty, log, vid):
        track(page, 4)
        run_idle(page)  # 5 events: one batch, answered 503
        wait_for(lambda: log.statuses, what="first answer")
        assert log.statuses == [503]
        wait_for(lambda: len(queued(page)) == 5, what="the batch in the retry queue")
        for answers in (2, 3, 4):
            # The paused clock only moves here, so the answer before was handled (and its
            # retry scheduled) at the very ms it was logged. 8 s covers a backoff twice too
            # long: a wrong schedule shows as wrong numbers below rather than as a timeout.
            page.clock.run_for(8000)
            wait_for(lambda n=answers: len(log.statuses) >= n, what=f"answer {answers}")
        # Exponential backoff on the page's clock, exactly: each retry 1 s, 2 s, 4 s after the
        # failed answer (the fake clock stood still while the page handled it).
        calls = log.track_calls()
        waits = [nxt["t"] - prev["rt"] for prev, nxt in itertools.pairwise(calls)]
        assert waits == [1000, 2000, 4000]
        assert log.statuses == [503, 503, 503, 200]
        wait_for(lambda: queued(page) == [], what="queue emptied")
        ids = {e["event_id"] for e in log.requests[0]["events"]}
        landed = events_for(faulty, vid)
        assert {e["event_id"] for e in landed} == ids  # every event at least once

        # A batch that lands twice (an answer lost on the way back, then retried):
        page.evaluate(
            "([url, body]) => fetch(url, {method: 'POST', body, credentials: 'include'})",
            [faulty.url + "/track", log.bodies_raw[-1]],
        )
        wait_for(lambda: len(events_for(faulty, vid, raw=True)) == 10, what="duplicate landing")
    # The server stopped and sealed its files (dbt reads sealed files only): build and count.
    dup = collections.Counter(e["event_id"] for e in events_for(faulty, vid, raw=True))
    assert set(dup.values()) == {2}
    mart = build_events_mart(tmp_path)
    rows = mart.execute(
        "select event_id, count(*) from events where visitor_id = ? group by 1", [vid]
    ).fetchall()
    assert {r[0] for r in rows} == ids
    assert {r[1] for r in rows} == {1}


def build_events_mart(data_dir: Path) -> duckdb.DuckDBPyConnection:
    env = inherited_env()
    env["OIE_DATA_DIR"] = str(data_dir)
    cmd = [
        str(REPO / ".venv" / "bin" / "dbt"),
        "build",
        "--project-dir",
        str(REPO),
        "--profiles-dir",
        str(REPO),
        "--select",
        "+events",
        # Only tests whose every parent is built (events' relationship test needs sessions).
        "--indirect-selection",
        "cautious",
        "--target-path",
        str(data_dir / "dbt-target"),
        "--log-path",
        str(data_dir / "dbt-logs"),
    ]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


def test_network_error_queue_retried_on_next_load(
    page: Page, site: ExampleSite, collector: IngestServer
):
    page.route(collector.url + "/track", lambda route: route.abort())
    pause_clock(page)  # its retries (1 s, 2 s, ...) never run: the page's clock stands still
    page.goto(site.url + "/case-studies/acme.html")
    run_idle(page)
    vid = visitor_id(page)
    track(page, 4)
    run_idle(page)  # the batch of 5 leaves, and fails
    wait_for(lambda: len(queued(page)) == 5, what="the failed batch queued")
    # Leaving while the collector is failing: the rest is queued too, not beaconed away.
    page.goto(site.url + "/site.css")
    assert len(queued(page)) == 6  # + page_exit
    page.unroute(collector.url + "/track")
    page.goto(site.url + "/thanks.html")  # the next load retries the queue
    run_idle(page)  # at its first drain
    evs = wait_events(collector, vid, count=6)
    assert collections.Counter(e["type"] for e in evs)["copy"] == 4
    wait_for(lambda: queued(page) == [], what="queue emptied")


def test_retry_queue_is_bounded_keeping_the_oldest(
    page: Page, site: ExampleSite, collector: IngestServer
):
    page.route(collector.url + "/track", lambda route: route.abort())
    log = TrackLog(page, collector.url)
    pause_clock(page)  # no retry runs in between: only the 50 batches reach the queue
    page.goto(site.url + "/case-studies/acme.html")
    run_idle(page)
    visitor_id(page)
    # 250 events with the pageview, batch after batch as a visitor would make them (the
    # pixel holds at most 100 events between two idle drains).
    for batch in range(50):
        page.evaluate(
            "([first, n]) => { for (let i = first; i < first + n; i++)"
            " oie('track', 'copy', {chars: i}) }",
            [1, 4] if batch == 0 else [batch * 5, 5],
        )
        run_idle(page)  # the drain posts the batch of 5 before run_for returns
        # Each failed answer is queued by the handler right after the log's own (same task).
        wait_for(lambda n=batch + 1: log.statuses == ["error"] * n, what=f"failure {batch + 1}")
    q = queued(page)
    assert len(q) == 200
    assert q[0]["type"] == "pageview"  # the first events (the email visit) are kept
    chars = [e["data"]["chars"] for e in q if e["type"] == "copy"]
    assert chars == list(range(1, 200))  # the newest dropped


def test_429_keeps_the_batch_and_retries_it(page: Page, tmp_path: Path):
    """The real rate limiter (OIE_RATE_LIMIT=1: one request, then a token a minute)."""
    env = {"OIE_RATE_LIMIT": "1"}
    with own_collector(page, tmp_path, env) as (srv, log, vid):
        track(page, 4)  # batch 1: takes the only token
        run_idle(page)
        wait_for(lambda: log.statuses == [200], what="first batch accepted")
        track(page, 5)  # batch 2: rate limited
        run_idle(page)
        wait_for(lambda: len(log.statuses) == 2, what="second answer")
        assert log.statuses[1] == 429
        wait_for(lambda: len(queued(page)) == 5, what="the limited batch kept")
        # The first retry (1 s backoff): limited again, kept again. The next one (2 s) does
        # not run: the clock stays paused after run_for.
        page.clock.run_for(1500)
        wait_for(lambda: len(log.statuses) == 3, what="the retry")
        assert log.statuses[2] == 429
        second, retried = log.requests[1]["events"], log.requests[2]["events"]
        assert [e["event_id"] for e in retried] == [e["event_id"] for e in second]
        assert len(queued(page)) == 5
        assert len(events_for(srv, vid)) == 5  # only the first batch landed so far


def test_retry_without_localstorage(page: Page, tmp_path: Path):
    """localStorage blocked: a 503'd batch is kept in memory and retried on this page."""
    env = {"OIE_FAULT": "sink-503-next-1", "OIE_PIXEL_DIR": str(DIST)}
    with (
        start_ingest_server(data_dir=tmp_path, env=env) as srv,
        serve_example_site("127.0.0.1", 0, srv.url) as site,
    ):
        page.add_init_script(
            "Object.defineProperty(window, 'localStorage', "
            "{get() { throw new DOMException('blocked', 'SecurityError') }})"
        )
        log = TrackLog(page, srv.url)
        pause_clock(page)
        page.goto(site.url + "/case-studies/acme.html")
        run_idle(page)
        wait_for(lambda: page.context.cookies(), what="the visitor cookie")
        track(page, 4)
        run_idle(page)
        wait_for(lambda: log.statuses == [503], what="the failed batch")
        page.clock.run_for(1500)  # the retry, 1 s after the failed answer
        wait_for(lambda: log.statuses == [503, 200], what="the retry")
        assert log.requests[0]["events"] == log.requests[1]["events"]
        vid = log.requests[0]["events"][0]["visitor_id"]
        assert len(events_for(srv, vid)) == 5
