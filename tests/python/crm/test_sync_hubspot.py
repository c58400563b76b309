"""The CRM sync through the real `hubspot-api-client` against the HubSpot stand-in on
127.0.0.1 (tests/python/helpers/hubspot_standin.py), with the state in a real DuckDB
warehouse: batches of 100, change-only, who is sent (eligible, below_level, suppressed),
retries (429 with Retry-After, 5xx, unreachable), a multi-status answer naming a failed
input, a batch refused whole, a rejected token, the dry run, nothing built yet."""

from __future__ import annotations

from pathlib import Path

import pytest
from urllib3.util import Retry

from crm_sync import runner
from crm_sync.errors import CRMRejected, CRMUnavailable
from crm_sync.hubspot import HubSpotCRM
from crm_sync.sync import SyncReport
from kv_sync.errors import NothingBuilt
from tests.python.crm.support import (
    Lead,
    RetrySleeps,
    email,
    hubspot_env,
    lead,
    leads,
    settings_for,
    state_exists,
    state_rows,
    write_crm_contacts,
)
from tests.python.helpers.hubspot_standin import HubSpotStandin
from tests.python.kv.support import FakeClock, md5


def sync(data_dir: Path, hs: HubSpotStandin, clock: FakeClock, **kwargs: object) -> SyncReport:
    return runner.run(settings_for(hubspot_env(data_dir, hs)), clock=clock, **kwargs)  # type: ignore[arg-type]


def set_up(data_dir: Path, hs: HubSpotStandin) -> None:
    """The properties exist before any upsert, as `oie crm setup` leaves them."""
    runner.setup(settings_for(hubspot_env(data_dir, hs)))
    hs.forget_calls()


def destination(hs: HubSpotStandin) -> str:
    return "hubspot:" + hs.base_url.removeprefix("http://")


def test_250_leads_in_3_batches_then_nothing_then_exactly_the_changed_one(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = leads(250)
    write_crm_contacts(tmp_path, rows)

    first = sync(tmp_path, hs, clock)
    assert [len(batch) for batch in hs.upserts()] == [100, 100, 50]
    assert sorted(e for batch in hs.upserts() for e in batch) == sorted(rows)
    assert hs.contacts == {key: r.properties for key, r in rows.items()}
    assert (first.new, first.changed, first.failed, first.requests) == (250, 0, [], 3)
    assert first.summary() == (
        f"{destination(hs)}: pushed 250 contact(s) (250 new, 0 changed), 0 failed, 3 request(s)"
    )
    state = state_rows(tmp_path)
    assert len(state) == 250
    assert state[email(7)] == (destination(hs), md5(rows[email(7)].value), clock.now())

    hs.forget_calls()
    second = sync(tmp_path, hs, clock)
    assert hs.calls == [] and second.requests == 0 and second.pushed == 0

    rows[email(7)] = lead(7, level="hot", score=71)
    write_crm_contacts(tmp_path, rows)
    third = sync(tmp_path, hs, clock)
    assert hs.upserts() == [[email(7)]]
    assert (third.new, third.changed, third.requests) == (0, 1, 1)
    assert hs.contacts[email(7)]["oie_engagement_level"] == "hot"
    assert hs.contacts[email(7)]["oie_intent_score"] == "71"
    assert state_rows(tmp_path)[email(7)][1] == md5(rows[email(7)].value)


def test_below_level_is_sent_only_when_sent_before_and_suppressed_never(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = {
        "fell@example.com": lead(1, "hot", 70),
        "never@example.com": lead(2, "cold", 10, status="below_level"),
        "bounced@example.com": lead(3, "burning", 95, status="suppressed"),
    }
    write_crm_contacts(tmp_path, rows)
    sync(tmp_path, hs, clock)
    assert hs.upserts() == [["fell@example.com"]]

    # The first lead's score falls below oie_crm_min_level: HubSpot must show it. The
    # others change too, and still are not sent.
    rows["fell@example.com"] = lead(1, "cold", 12, status="below_level")
    rows["never@example.com"] = lead(2, "cold", 15, status="below_level")
    rows["bounced@example.com"] = lead(3, "burning", 99, status="suppressed")
    write_crm_contacts(tmp_path, rows)
    hs.forget_calls()
    report = sync(tmp_path, hs, clock)
    assert hs.upserts() == [["fell@example.com"]]
    assert (report.new, report.changed) == (0, 1)
    assert hs.contacts["fell@example.com"]["oie_engagement_level"] == "cold"
    assert set(hs.contacts) == {"fell@example.com"}

    # Synced before, now suppressed (unsubscribed): never sent again, never deleted.
    rows["fell@example.com"] = lead(1, "warm", 40, status="suppressed")
    write_crm_contacts(tmp_path, rows)
    hs.forget_calls()
    assert sync(tmp_path, hs, clock).requests == 0 and hs.calls == []
    assert hs.contacts["fell@example.com"]["oie_intent_score"] == "12"
    assert set(state_rows(tmp_path)) == {"fell@example.com"}


def test_a_429_with_retry_after_is_retried_by_the_client(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = leads(3)
    write_crm_contacts(tmp_path, rows)
    hs.fail_next(429, retry_after="0", times=2)
    report = sync(tmp_path, hs, clock)
    assert [c.status for c in hs.calls] == [429, 429, 200]
    assert report.requests == 1 and report.new == 3 and report.failed == []
    assert hs.contacts == {k: r.properties for k, r in rows.items()}
    assert set(state_rows(tmp_path)) == set(rows)


def test_retry_after_is_what_the_client_waits(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock, retry_sleeps: RetrySleeps
) -> None:
    set_up(tmp_path, hs)
    write_crm_contacts(tmp_path, leads(1))
    hs.fail_next(429, retry_after="1", times=2)
    assert sync(tmp_path, hs, clock).new == 1
    assert retry_sleeps.slept == [1, 1]
    # Without Retry-After the client backs off: nothing after the first failure, then 1 s.
    write_crm_contacts(tmp_path, leads(1, start=1))
    hs.fail_next(503, times=2)
    retry_sleeps.slept.clear()
    assert sync(tmp_path, hs, clock).new == 1
    assert retry_sleeps.slept == [1.0]


def test_still_failing_after_the_retries_stops_with_what_was_confirmed_recorded(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock, retry_sleeps: RetrySleeps
) -> None:
    set_up(tmp_path, hs)
    rows = leads(250)
    write_crm_contacts(tmp_path, rows)
    hs.outage_after(1)
    with pytest.raises(CRMUnavailable) as stopped:
        sync(tmp_path, hs, clock)
    assert stopped.value.exit_code == 1
    assert str(stopped.value).startswith(
        "HubSpot kept failing the contact upsert after 5 retries (HTTP 503: service unavailable)"
    )
    upserts = [c for c in hs.calls if c.path.endswith("/batch/upsert")]
    assert [c.status for c in upserts] == [200] + [503] * 6
    confirmed = set(hs.upserts()[0])
    assert set(state_rows(tmp_path)) == confirmed and len(confirmed) == 100

    hs.outage_after(None)
    hs.forget_calls()
    resumed = sync(tmp_path, hs, clock)
    assert [len(b) for b in hs.upserts()] == [100, 50]
    assert not confirmed & {e for batch in hs.upserts() for e in batch}
    assert resumed.new == 150 and set(state_rows(tmp_path)) == set(rows)


def test_hubspot_unreachable_is_one_error_after_the_retries(
    tmp_path: Path, clock: FakeClock, retry_sleeps: RetrySleeps
) -> None:
    write_crm_contacts(tmp_path, leads(2))
    env = {
        "OIE_DATA_DIR": str(tmp_path),
        "OIE_TOKEN_SECRET": "crm-test-secret-0123456789abcdef",
        "OIE_HUBSPOT_TOKEN": "pat-unused",
        "OIE_HUBSPOT_BASE_URL": "http://127.0.0.1:9",  # discard: nothing listens
    }
    with pytest.raises(CRMUnavailable) as stopped:
        runner.run(settings_for(env), clock=clock)
    assert str(stopped.value).startswith("HubSpot did not answer at http://127.0.0.1:9 after 5")
    assert len(retry_sleeps.slept) == 4  # backoff between the 6 tries (the first is 0)
    assert state_rows(tmp_path) == {}


def test_a_multi_status_answer_leaves_only_the_failed_input_unsynced(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = leads(5)
    write_crm_contacts(tmp_path, rows)
    hs.fail_inputs({email(3): "Contact is locked by a merge in progress"})
    report = sync(tmp_path, hs, clock)
    assert [c.status for c in hs.calls] == [207]
    assert report.new == 4 and report.requests == 1
    assert [(f.key, f.reason) for f in report.failed] == [
        (email(3), "VALIDATION_ERROR: Contact is locked by a merge in progress")
    ]
    assert report.summary().endswith(
        "pushed 4 contact(s) (4 new, 0 changed), 1 failed, 1 request(s)"
    )
    assert set(state_rows(tmp_path)) == set(rows) - {email(3)}
    assert email(3) not in hs.contacts

    hs.forget_calls()
    again = sync(tmp_path, hs, clock)
    assert hs.upserts() == [[email(3)]]
    assert again.new == 1 and again.failed == []
    assert hs.contacts == {k: r.properties for k, r in rows.items()}


def test_a_batch_refused_whole_is_halved_until_the_bad_input_is_alone(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = leads(10)
    rows[email(6)] = Lead({**rows[email(6)].properties, "oie_intent_score": "seventy"})
    write_crm_contacts(tmp_path, rows)
    hs.multi_status = False  # as for an answer without per-input errors: one 400
    report = sync(tmp_path, hs, clock)
    assert [(f.key, f.reason.split(" (HTTP")[0]) for f in report.failed] == [
        (email(6), "HubSpot refused the contact upsert")
    ]
    assert "'seventy' is not a valid number for oie_intent_score" in report.failed[0].reason
    assert report.new == 9
    assert set(hs.contacts) == set(rows) - {email(6)}
    assert set(state_rows(tmp_path)) == set(rows) - {email(6)}
    assert report.requests == len([c for c in hs.calls if c.path.endswith("/batch/upsert")])


def test_a_value_that_is_not_an_object_of_strings_is_reported_and_the_rest_pushed(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = leads(2)
    # A lead that never visited: the mart's JSON holds its last visit as null, not sent.
    never = {**rows[email(1)].properties, "oie_last_visit_at": None}
    rows[email(1)] = Lead(never)
    write_crm_contacts(tmp_path, rows)
    import duckdb

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute(
            "insert into crm_contacts values ('odd@example.com', '{\"oie_intent_score\": 7}', "
            "md5('x'), 'eligible')"
        )
    finally:
        con.close()
    report = sync(tmp_path, hs, clock)
    assert report.new == 2
    assert [(f.key, f.reason) for f in report.failed] == [
        ("odd@example.com", "crm_contacts.value is not a JSON object of strings")
    ]
    assert set(hs.contacts) == set(rows)
    assert "oie_last_visit_at" not in hs.contacts[email(1)]
    assert (
        hs.contacts[email(1)]["oie_intent_score"] == rows[email(1)].properties["oie_intent_score"]
    )


def test_a_rejected_token_stops_at_once_and_leaves_the_state_as_it_was(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    set_up(tmp_path, hs)
    rows = leads(3)
    write_crm_contacts(tmp_path, rows)
    sync(tmp_path, hs, clock)
    before = state_rows(tmp_path)
    rows[email(1)] = lead(1, "hot", 80)
    write_crm_contacts(tmp_path, rows)
    hs.forget_calls()
    revoked = hubspot_env(tmp_path, hs, OIE_HUBSPOT_TOKEN="pat-na1-revoked")
    with pytest.raises(CRMRejected) as rejected:
        runner.run(settings_for(revoked), clock=clock)
    assert rejected.value.exit_code == 2
    assert str(rejected.value).startswith(
        "HubSpot rejected the token (OIE_HUBSPOT_TOKEN): Authentication credentials not found"
    )
    assert [c.status for c in hs.calls] == [401]  # not retried
    assert state_rows(tmp_path) == before


def test_a_dry_run_sends_nothing_and_writes_nothing(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    rows = leads(3)
    rows["below@example.com"] = lead(9, "cold", 5, status="below_level")
    write_crm_contacts(tmp_path, rows)
    dry = sync(tmp_path, hs, clock, dry_run=True)
    assert (dry.new, dry.changed, dry.requests) == (3, 0, 0)
    assert (
        dry.summary() == f"{destination(hs)}: would push 3 contact(s) (3 new, 0 changed), 0 failed"
    )
    assert hs.calls == [] and hs.contacts == {}
    assert not state_exists(tmp_path)


def test_before_crm_contacts_is_built_the_sync_says_so(
    tmp_path: Path, hs: HubSpotStandin, clock: FakeClock
) -> None:
    with pytest.raises(NothingBuilt, match="no warehouse at "):
        sync(tmp_path, hs, clock)
    import duckdb

    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    with pytest.raises(NothingBuilt, match="the warehouse has no crm_contacts yet"):
        sync(tmp_path, hs, clock)
    assert hs.calls == []


def test_the_client_takes_host_and_retry_as_configured(hs: HubSpotStandin) -> None:
    """`host=` and `retry=` reach the generated clients' configuration and urllib3 pool."""
    retry = Retry(total=2, respect_retry_after_header=True)
    crm = HubSpotCRM(access_token=hs.token, base_url=hs.base_url + "/", retry=retry)
    api_client = crm._batch.api_client
    assert api_client.configuration.host == hs.base_url
    assert api_client.rest_client.pool_manager.connection_pool_kw["retries"] is retry
    default = HubSpotCRM(access_token=hs.token, base_url=hs.base_url)._batch.api_client
    used = default.rest_client.pool_manager.connection_pool_kw["retries"]
    assert used.respect_retry_after_header and used.allowed_methods is None
    assert set(used.status_forcelist) == {429, 500, 502, 503, 504} and used.total == 5
