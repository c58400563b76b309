"""What /track and /go land has exactly the raw tables' declared fields, in their order
(oie_core/raw_schema.py): the landing line is read by dbt and written to BigQuery by name,
so a field missing, extra or renamed in one endpoint would break one path only."""

from __future__ import annotations

from oie_core import tokens
from oie_core.raw_schema import RAW_EVENTS, RAW_REJECTED_EVENTS
from tests.python.helpers.servers import TEST_TOKEN_SECRET
from tests.python.ingest.conftest import DESKTOP_UA, batch, landed_by_id, make_event, track


def test_a_track_event_and_a_go_click_land_exactly_the_declared_fields(app):
    event = make_event()
    assert track(app, batch(event)).status == 200
    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "fields", "ada@example.com")
    reply = app.call(f"/go?i={token}&to=/pricing", headers={"User-Agent": DESKTOP_UA})
    assert reply.status == 302

    tracked = landed_by_id(app)[event["event_id"]][0]
    (click,) = [r for r in app.landed("events") if r["token"] == token]
    assert click["type"] == "email_click"
    assert tuple(tracked) == RAW_EVENTS.names
    assert tuple(click) == RAW_EVENTS.names
    # The server's fields are filled the same way on both paths.
    for row in (tracked, click):
        assert row["ip"] == "127.0.0.0" and row["user_agent"] == DESKTOP_UA
        assert (row["device"], row["browser"], row["is_bot"]) == ("desktop", "Chrome", False)
        assert row["received_at"].endswith("Z") and row["event_at"].endswith("Z")


def test_rejected_events_and_bodies_land_exactly_the_declared_fields(app):
    bad = make_event(type="no_such_type")
    assert track(app, batch(bad)).json()["rejected"] == 1
    assert track(app, b'{"events": 7, "marker": "fields-test"}').status == 400

    rejected = app.landed("rejected")
    (event_row,) = [r for r in rejected if r["event_id"] == bad["event_id"]]
    (body_row,) = [r for r in rejected if r["raw"] and "fields-test" in r["raw"]]
    assert tuple(event_row) == RAW_REJECTED_EVENTS.names
    assert tuple(body_row) == RAW_REJECTED_EVENTS.names
