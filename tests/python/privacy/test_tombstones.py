"""Tombstones hold: the HMAC the warehouse computes in SQL is the one Python computes, and
rows of a forgotten identifier that reach the landing folder after the erasure (a file
open at the time, an erasure still pending) are dropped by staging, by a real dbt build,
while everyone else's rows stay."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from oie_core import tombstones as tb
from oie_core.landing import LandingWriter, iso_ms
from tests.python.helpers.scenario_build import build_data


@pytest.mark.parametrize(
    "secret",
    ["a-sixteen+-secret", "k" * 64, "a secret longer than one SHA-256 block " * 3, "clé-secrète-ü"],
)
def test_sql_hmac_is_python_hmac(secret: str) -> None:
    key = tb.TombstoneKey(secret)
    values = ["ada@example.com", "0AbCdEfGh12", "vis-ü-ß-文字", "x"]
    expected = [hmac.new(secret.encode(), v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert [key.hash("visitor", v) for v in values] == expected
    inner, outer = key.inner_pad.hex(), key.outer_pad.hex()
    db = duckdb.connect()
    got = [
        db.execute(
            "select sha256(unhex(?) || unhex(sha256(unhex(?) || encode(?))))", [outer, inner, v]
        ).fetchone()[0]  # type: ignore[index]
        for v in values
    ]
    assert got == expected


def test_emails_are_hashed_normalized() -> None:
    key = tb.TombstoneKey("a-sixteen+-secret")
    assert key.hash("email", " Ada@Example.COM ") == key.hash("email", "ada@example.com")
    assert key.hash("token", "0AbCdEfGh12") != key.hash("token", "0abcdefgh12")
    with pytest.raises(ValueError):
        key.hash("phone", "1")


def _event(visitor: str, token: str | None = None) -> dict:
    now = time.time()
    return {
        "event_id": str(uuid.uuid4()),
        "type": "pageview",
        "ts": int(now * 1000),
        "sent_at": int(now * 1000),
        "received_at": iso_ms(now),
        "event_at": iso_ms(now),
        "visitor_id": visitor,
        "client_session_id": f"ses-{visitor}",
        "token": token,
        "url": "https://acme.example/pricing",
        "data": {"title": "Pricing"},
    }


def _lead(email: str, lead_id: str, token: str) -> dict:
    now = iso_ms(time.time())
    return {
        "lead_id": lead_id,
        "email": email,
        "email_sha256": hashlib.sha256(email.strip().lower().encode()).hexdigest(),
        "campaign_id": "q4",
        "token": token,
        "created_at": now,
        "imported_at": now,
    }


def test_staging_drops_rows_of_tombstoned_identifiers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    key = tb.TombstoneKey("test-tombstone-secret-0123")
    writer = LandingWriter(data_dir / "landing", background_rotation=False)
    writer.write_records(
        "tombstones",
        tb.records(
            key,
            [
                ("visitor", "gone-visitor-1"),
                ("token", "GoneToken01"),
                ("email", "Ada@Example.com"),
                ("lead", "lead0000000000b2"),
            ],
            time.time(),
        ),
    )
    writer.write_records(
        "events",
        [
            _event("gone-visitor-1"),
            _event("kept-visitor-1", token="GoneToken01"),  # her token on another device
            _event("kept-visitor-2", token="KeptToken01"),
            {**_event("kept-visitor-3"), "client_visitor_id": "gone-visitor-1"},
        ],
    )
    writer.write_records(
        "leads",
        [
            _lead(" ada@example.com ", "lead0000000000a1", "AdaToken001"),  # by address
            _lead("old@example.com", "lead0000000000b2", "OldToken001"),  # by lead id
            _lead("cy@example.com", "lead0000000000c3", "GoneToken01"),  # by token
            _lead("bob@example.com", "lead0000000000d4", "BobToken001"),
        ],
    )
    bad = {**_event("gone-visitor-1"), "type": "no_such_type"}
    writer.write_records(
        "rejected",
        [
            {"received_at": iso_ms(time.time()), "reason": "unknown_type", "event": bad},
            {"received_at": iso_ms(time.time()), "reason": "unknown_type", "event": _event("kv4")},
        ],
    )
    writer.close()
    tb.write_warehouse_key(data_dir, key)

    select = "stg_oie__events stg_oie__leads stg_oie__rejected_events stg_oie__tombstones"
    assert build_data(data_dir, select=select) == 0
    # dbt ran inside the data dir; the staging views (the landing files, the key's pads)
    # are read here from its parent, so a relative path kept in one would find nothing
    monkeypatch.chdir(tmp_path)
    db = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    visitors = sorted(r[0] for r in db.execute("select visitor_id from stg_oie__events").fetchall())
    assert visitors == ["kept-visitor-2"]
    assert [r[0] for r in db.execute("select email from stg_oie__leads").fetchall()] == [
        "bob@example.com"
    ]
    rejected = db.execute("select event_json from stg_oie__rejected_events").fetchall()
    assert len(rejected) == 1 and "kv4" in rejected[0][0]
    assert db.execute("select count(*) from stg_oie__tombstones").fetchone() == (4,)


def test_without_tombstones_staging_reads_no_key(tmp_path: Path) -> None:
    """No tombstone, no key file: the build does not need one (every fresh install)."""
    data_dir = tmp_path / "data"
    writer = LandingWriter(data_dir / "landing", background_rotation=False)
    writer.write_records("events", [_event("kept-visitor-1")])
    writer.close()
    assert build_data(data_dir, select="stg_oie__events stg_oie__tombstones") == 0
    assert not (data_dir / tb.WAREHOUSE_KEY_FILE).exists()
    db = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    assert db.execute("select count(*) from stg_oie__events").fetchone() == (1,)
