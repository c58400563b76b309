"""The sync to Workers KV through the real `cloudflare` SDK, against the v4 stand-in on
127.0.0.1 (tests/python/helpers/cf_standin.py), with the state in a real DuckDB warehouse
and a clock that never sleeps for real: change-only pushes, deletes, TTL refresh,
unsuccessful keys, rate limits and blocks, retries, a rejected token, reconcile, and keys
Workers KV would refuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kv_sync import runner
from kv_sync.cloudflare import CloudflareKV
from kv_sync.duckdb_state import open_state
from kv_sync.errors import KVRejected, KVUnavailable
from kv_sync.pacing import Pacer
from kv_sync.store import Entry
from kv_sync.sync import Sync, SyncReport
from tests.python.helpers.cf_standin import CloudflareStandin, start_cf_standin
from tests.python.kv.support import (
    DAY,
    FakeClock,
    cloudflare_env,
    drop_state,
    keys_of,
    lead_rows,
    md5,
    profile,
    settings_for,
    state_rows,
    write_edge_profiles,
)

TTL = 90 * DAY


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cf(clock: FakeClock) -> Iterator[CloudflareStandin]:
    with start_cf_standin(clock=clock.now) as standin:
        yield standin


def sync(data_dir: Path, cf: CloudflareStandin, clock: FakeClock, **kwargs: object) -> SyncReport:
    settings = settings_for(cloudflare_env(data_dir, cf))
    return runner.run(settings, clock=clock, **kwargs)  # type: ignore[arg-type]


def store_name(cf: CloudflareStandin) -> str:
    return f"cloudflare:{cf.account}/{cf.namespace}"


def test_25000_keys_in_3_requests_then_nothing_then_exactly_one_leads_keys(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(12_500)  # 25,000 keys
    write_edge_profiles(tmp_path, rows)

    first = sync(tmp_path, cf, clock)
    assert [len(k) for k in keys_of(cf.writes())] == [10_000, 10_000, 5_000]
    assert (first.new, first.changed, first.refreshed, first.deleted) == (25_000, 0, 0, 0)
    assert first.write_requests == 3 and first.failed == []
    assert cf.values() == rows
    stored = cf.entry("t:Tk000000007")
    assert stored is not None
    assert stored.metadata == {"h": md5(rows["t:Tk000000007"])}
    assert stored.expiration == clock.now() + TTL
    state = state_rows(tmp_path)
    assert len(state) == 25_000
    assert state["v:visitor-000007"] == (
        store_name(cf),
        md5(rows["v:visitor-000007"]),
        clock.now() + TTL,
        clock.now(),
    )

    cf.forget_calls()
    second = sync(tmp_path, cf, clock)
    assert cf.calls == [] and second.write_requests == 0 and second.pushed == 0

    # Lead 7 changes level: its two keys, and only they, go out again.
    rows["v:visitor-000007"] = rows["t:Tk000000007"] = profile(7, level="hot")
    write_edge_profiles(tmp_path, rows)
    third = sync(tmp_path, cf, clock)
    assert [sorted(k) for k in keys_of(cf.writes())] == [["t:Tk000000007", "v:visitor-000007"]]
    assert (third.new, third.changed, third.write_requests) == (0, 2, 1)
    assert cf.values()["t:Tk000000007"] == profile(7, level="hot")
    assert state_rows(tmp_path)["t:Tk000000007"][1] == md5(profile(7, level="hot"))
    assert clock.sleeps == []


def test_get_reads_one_value_back(tmp_path: Path, cf: CloudflareStandin, clock: FakeClock) -> None:
    rows = lead_rows(1)
    write_edge_profiles(tmp_path, rows)
    sync(tmp_path, cf, clock)
    store = runner.open_store(settings_for(cloudflare_env(tmp_path, cf)), clock)
    assert store.get("t:Tk000000000") == rows["t:Tk000000000"]
    assert store.get("t:TkNobody000") is None


def test_entries_without_their_json_are_serialized_by_the_store(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    """The sync hands the store each pair's JSON ready-made; any other caller of put_many
    gives plain entries, which must reach Workers KV just the same (non-ASCII included)."""
    store = runner.open_store(settings_for(cloudflare_env(tmp_path, cf)), clock)
    value = '{"first_name":"Zoë","company":"Škoda ☃"}'
    result = store.put_many([Entry("v:visitor-zoe", value, 3600, {"h": "abc"})])
    assert result.unsuccessful == frozenset()
    stored = cf.entry("v:visitor-zoe")
    assert stored is not None
    assert (stored.value, stored.metadata) == (value, {"h": "abc"})
    assert stored.expiration == clock.now() + 3600


def test_keys_that_left_edge_profiles_are_deleted(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(5)
    write_edge_profiles(tmp_path, rows)
    sync(tmp_path, cf, clock)
    gone = {"v:visitor-000002", "t:Tk000000002"}
    write_edge_profiles(tmp_path, {k: v for k, v in rows.items() if k not in gone})
    cf.forget_calls()

    report = sync(tmp_path, cf, clock)
    assert [sorted(k) for k in keys_of(cf.writes(), "bulk/delete")] == [sorted(gone)]
    assert keys_of(cf.writes(), "bulk") == []
    assert report.deleted == 2 and report.pushed == 0
    assert set(cf.values()) == set(rows) - gone
    assert set(state_rows(tmp_path)) == set(rows) - gone


def test_keys_within_a_third_of_the_ttl_of_expiring_are_pushed_again(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(3)
    write_edge_profiles(tmp_path, rows)
    sync(tmp_path, cf, clock)
    cf.forget_calls()

    clock.advance(TTL * 2 / 3 - 60)  # a minute before the refresh window opens
    assert sync(tmp_path, cf, clock).write_requests == 0
    clock.advance(120)  # inside the last third of the keys' life
    report = sync(tmp_path, cf, clock)
    assert report.refreshed == 6 and report.new == report.changed == 0
    assert sorted(keys_of(cf.writes())[0]) == sorted(rows)
    stored = cf.entry("v:visitor-000001")
    assert stored is not None and stored.expiration == clock.now() + TTL
    assert {s[2] for s in state_rows(tmp_path).values()} == {clock.now() + TTL}


def test_unsuccessful_keys_are_retried_and_only_confirmed_keys_advance(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(4)
    write_edge_profiles(tmp_path, rows)
    cf.unsuccessful({"v:visitor-000001"}, times=2)  # fine on the third try
    cf.unsuccessful({"t:Tk000000003"}, times=99)  # never, in this run

    report = sync(tmp_path, cf, clock)
    assert report.pushed == 7
    assert [f.key for f in report.failed] == ["t:Tk000000003"]
    assert "unsuccessful 4 times" in report.failed[0].reason
    assert clock.sleeps == [1, 2, 3]  # three retry rounds, a little apart
    sent = [sorted(k) for k in keys_of(cf.writes())]
    both = ["t:Tk000000003", "v:visitor-000001"]
    assert len(sent[0]) == 8 and sent[1:] == [both, both, ["t:Tk000000003"]]
    state = state_rows(tmp_path)
    assert "t:Tk000000003" not in state and "v:visitor-000001" in state
    assert "t:Tk000000003" not in cf.values()

    # The next run sends the one key whose state never advanced, and nothing else.
    cf.flaky.clear()
    cf.forget_calls()
    again = sync(tmp_path, cf, clock)
    assert keys_of(cf.writes()) == [["t:Tk000000003"]] and again.new == 1
    assert cf.values() == rows


def test_retry_after_is_honoured_on_the_test_clock(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    write_edge_profiles(tmp_path, lead_rows(3))
    cf.fail_next(429, retry_after="7")
    waits: list[str] = []
    settings = settings_for(cloudflare_env(tmp_path, cf))
    report = runner.run(settings, clock=clock, notify=waits.append)
    assert clock.sleeps == [7]
    assert report.pushed == 6 and report.waited_s == 7
    assert len(cf.values()) == 6
    assert waits == ["Cloudflare rate limit (HTTP 429): waiting 7 s"]
    assert "waited 7 s for Cloudflare's rate limit" in report.summary()


def test_a_block_without_retry_after_is_waited_out_for_five_minutes(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(3)
    write_edge_profiles(tmp_path, rows)
    cf.block()  # someone else spent the account's requests: every call 429 for 5 minutes
    report = sync(tmp_path, cf, clock)
    assert clock.sleeps == [300]
    assert cf.rejected == 1 and cf.values() == rows and report.pushed == 6


def test_pacing_keeps_under_the_limit_and_a_block_is_survived(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    """The account limit scaled down to 3 requests per 5 minutes (Cloudflare's is 1,200):
    paced, the sync never hits it; unpaced, it runs into the block and waits it out."""
    rows = lead_rows(10)  # 20 keys, 2 per request: 10 requests
    write_edge_profiles(tmp_path, rows)
    cf.rate_limit(3, 300)

    def run(pacer_limit: int) -> SyncReport:
        store = CloudflareKV(
            api_token=cf.token,
            account_id=cf.account,
            namespace_id=cf.namespace,
            base_url=cf.base_url,
            clock=clock,
            pacer=Pacer(clock, limit=pacer_limit, window_s=300),
        )
        with open_state(tmp_path / "warehouse.duckdb", read_only=False, clock=clock) as state:
            return Sync(store, state, ttl_s=int(TTL), clock=clock, max_keys=2).run()

    paced = run(pacer_limit=3)
    assert cf.rejected == 0 and paced.write_requests == 10
    assert clock.sleeps == [300, 300, 300]  # after requests 3, 6 and 9
    assert cf.values() == rows

    write_edge_profiles(tmp_path, {k: profile(99) for k in rows})
    clock.sleeps.clear()
    clock.advance(300)
    unpaced = run(pacer_limit=1000)
    # Requests 4, 7 and 10 ran into the block; each time the sync waited it out and resumed.
    assert cf.rejected == 3 and clock.sleeps == [300, 300, 300]
    assert unpaced.changed == 20 and set(cf.values().values()) == {profile(99)}


def test_server_errors_are_retried_with_backoff(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(2)
    write_edge_profiles(tmp_path, rows)
    cf.fail_next(503, times=2)
    report = sync(tmp_path, cf, clock)
    assert clock.sleeps == [2, 4] and report.pushed == 4 and cf.values() == rows


def test_an_outage_stops_the_sync_with_the_confirmed_keys_recorded(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(12_500)
    write_edge_profiles(tmp_path, rows)
    cf.outage_after(1)
    with pytest.raises(KVUnavailable, match="did not take the request after 5 tries"):
        sync(tmp_path, cf, clock)
    assert clock.sleeps == [2, 4, 8, 16]
    assert len(state_rows(tmp_path)) == 10_000 == len(cf.values())
    cf.outage_after(None)
    cf.forget_calls()
    rest = sync(tmp_path, cf, clock)
    assert rest.new == 15_000 and rest.write_requests == 2 and cf.values() == rows


def test_a_rejected_token_stops_at_once_and_leaves_the_state_untouched(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(3)
    write_edge_profiles(tmp_path, rows)
    settings = settings_for(cloudflare_env(tmp_path, cf))
    runner.run(settings, clock=clock)
    before = state_rows(tmp_path)
    write_edge_profiles(tmp_path, {k: profile(5, "hot") for k in rows})
    cf.token = "another-token"  # the configured token lost its permission
    with pytest.raises(KVRejected, match=r"^Cloudflare rejected the API token \(HTTP 403"):
        runner.run(settings, clock=clock)
    assert state_rows(tmp_path) == before
    assert clock.sleeps == []


def test_reconcile_rebuilds_a_dropped_state_from_the_stores_metadata(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(1_500)  # 3,000 keys: three pages of keys.list per prefix pair
    write_edge_profiles(tmp_path, rows)
    sync(tmp_path, cf, clock)
    before = state_rows(tmp_path)
    drop_state(tmp_path)
    # A key someone wrote by hand, without our metadata, is pushed again; one that left
    # edge_profiles meanwhile is deleted; nothing else is sent.
    cf.data["v:visitor-000010"].metadata = None
    rows.pop("t:Tk000000011")
    write_edge_profiles(tmp_path, rows)
    cf.forget_calls()

    report = sync(tmp_path, cf, clock, reconcile_state=True)
    assert report.reconciled == 3_000
    assert keys_of(cf.writes()) == [["v:visitor-000010"]]
    assert keys_of(cf.writes(), "bulk/delete") == [["t:Tk000000011"]]
    lists = [c for c in cf.calls if c.what == "keys"]
    assert len(lists) == 4  # v: 1,000 + 500, t: 1,000 + 500
    after = state_rows(tmp_path)
    assert set(after) == set(rows)
    for key, (store, hash_, expires_at, _) in after.items():
        if key != "v:visitor-000010":
            assert (store, hash_, expires_at) == before[key][:3]


def test_keys_workers_kv_would_refuse_fail_alone(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    rows = lead_rows(2)
    long_key = "v:" + "x" * 511
    rows[long_key] = profile(1)
    rows["t:TkBigValue01"] = '{"first_name":"' + "A" * (25 * 1024 * 1024) + '"}'
    write_edge_profiles(tmp_path, rows)
    report = sync(tmp_path, cf, clock)
    reasons = {f.key: f.reason for f in report.failed}
    big = 25 * 1024 * 1024 + 17
    assert reasons == {
        long_key: "key is 513 bytes (Workers KV takes at most 512)",
        "t:TkBigValue01": f"value is {big} bytes (Workers KV takes at most 25 MiB)",
    }
    assert report.pushed == 4 and set(cf.values()) == set(lead_rows(2))
    assert set(state_rows(tmp_path)) == set(lead_rows(2))


def test_a_batch_stays_under_100_mb(
    tmp_path: Path, cf: CloudflareStandin, clock: FakeClock
) -> None:
    big = {f"v:visitor-big{i}": '{"c":"' + str(i) * (20 * 1024 * 1024) + '"}' for i in range(5)}
    write_edge_profiles(tmp_path, big)  # 105 MB in all: one request would be refused
    report = sync(tmp_path, cf, clock)
    assert [len(k) for k in keys_of(cf.writes())] == [4, 1]
    assert report.pushed == 5 and len(cf.values()) == 5
