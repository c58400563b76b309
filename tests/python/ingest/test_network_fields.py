"""Network fields through the real server (functions-framework on 127.0.0.1): databases
written in the test, addresses from Cloudflare's CF-Connecting-IP, what lands, and the
failure paths (a lookup error, a forged header, a database that cannot be read)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from oie_core import tokens
from oie_core.iporg import RAW_FIELDS
from tests.python.helpers import network_dbs
from tests.python.helpers.servers import (
    REPO,
    TEST_TOKEN_SECRET,
    IngestServer,
    start_ingest_server,
)
from tests.python.ingest.conftest import batch, call, landed_by_id, make_event, track

NETWORK_KEYS = RAW_FIELDS


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("dbs")
    paths = [
        network_dbs.geolite2_asn(folder),
        network_dbs.geoip2_isp(folder),
        network_dbs.ipinfo_lite(folder),
    ]
    return ",".join(str(p) for p in paths)


@pytest.fixture(scope="module")
def behind_cloudflare(
    databases: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestServer]:
    env = {"OIE_TRUSTED_PROXY": "cloudflare", "OIE_IP_ORG_DB": databases}
    with start_ingest_server(env, data_dir=tmp_path_factory.mktemp("cf")) as srv:
        yield srv


def _land_one(srv: IngestServer, headers: dict[str, str]) -> dict:
    event = make_event()
    reply = track(srv, batch(event), headers=headers)
    assert reply.status == 200, reply.body
    (row,) = landed_by_id(srv)[event["event_id"]]
    return row


def _network(row: dict) -> dict:
    return {k: row[k] for k in NETWORK_KEYS}


def test_fields_land_from_the_databases_and_the_address_stays_truncated(behind_cloudflare):
    row = _land_one(behind_cloudflare, {"CF-Connecting-IP": "203.0.113.7"})
    assert _network(row) == {
        "asn": "64500",
        "as_org": "EXAMPLE-TRANSIT",
        "ip_org": "Acme Holdings",
        "ip_domain": "acme.example",
        "ip_connection_type": "Corporate",
        "ip_user_type": None,
    }
    assert row["ip"] == "203.0.113.0"


def test_an_ipv6_visitor_is_looked_up_before_truncation_to_48(behind_cloudflare):
    row = _land_one(behind_cloudflare, {"CF-Connecting-IP": "2001:db8:1:2::42"})
    assert (row["asn"], row["as_org"], row["ip_domain"]) == (
        "64501",
        "GLOBEX Corporation",
        "globex.example",
    )
    assert row["ip"] == "2001:db8:1::"


def test_cloudflare_asn_header_wins_over_the_file(behind_cloudflare):
    row = _land_one(behind_cloudflare, {"CF-Connecting-IP": "203.0.113.7", "CF-ASN": "13335"})
    assert row["asn"] == "13335"
    assert row["ip_org"] == "Acme Holdings"


def test_a_private_address_lands_without_network_fields(behind_cloudflare):
    row = _land_one(behind_cloudflare, {"CF-Connecting-IP": "10.1.2.3"})
    assert _network(row) == dict.fromkeys(NETWORK_KEYS)


def test_an_email_click_carries_the_network_too(behind_cloudflare):
    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "q4", "ada@acme.example")
    reply = call(
        behind_cloudflare,
        f"/go?i={token}&to=/pricing",
        headers={"User-Agent": "Mozilla/5.0 Chrome/131.0", "CF-Connecting-IP": "198.51.100.9"},
    )
    assert reply.status == 302
    (click,) = [r for r in behind_cloudflare.landed() if r["token"] == token]
    assert (click["asn"], click["ip_org"], click["ip_connection_type"]) == (
        "64503",
        "Example Wireless",
        "Cellular",
    )


def test_health_names_the_databases(behind_cloudflare):
    described = call(behind_cloudflare, "/health").json()["ip_org_db"]
    assert "GeoLite2-ASN.mmdb (GeoLite2-ASN, built " in described
    assert "GeoIP2-ISP.mmdb (GeoIP2-ISP" in described


def test_health_says_when_lookups_are_off(server):
    assert call(server, "/health").json()["ip_org_db"] == "off: OIE_IP_ORG_DB is not set"


def test_a_forged_cloudflare_header_is_ignored_without_the_trusted_proxy(databases, tmp_path):
    env = {"OIE_TRUSTED_PROXY": "none", "OIE_IP_ORG_DB": databases}
    with start_ingest_server(env, data_dir=tmp_path) as srv:
        row = _land_one(srv, {"CF-Connecting-IP": "203.0.113.7", "CF-ASN": "64500"})
    # the TCP peer (127.0.0.1) is the client: private, never looked up
    assert _network(row) == dict.fromkeys(NETWORK_KEYS)
    assert row["ip"] == "127.0.0.0"


def test_a_lookup_error_lands_the_event_without_network_fields(databases, tmp_path):
    env = {
        "OIE_TRUSTED_PROXY": "cloudflare",
        "OIE_IP_ORG_DB": databases,
        "OIE_FAULT": "iporg-raise",
    }
    with start_ingest_server(env, data_dir=tmp_path) as srv:
        row = _land_one(srv, {"CF-Connecting-IP": "203.0.113.7"})
        log = srv.log()
    assert _network(row) == dict.fromkeys(NETWORK_KEYS)
    assert "network lookup failed" in log


def _refused_start(tmp_path: Path, ip_org_db: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "OIE_DATA_DIR": str(tmp_path),
        "OIE_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "OIE_IP_ORG_DB": ip_org_db,
    }
    command = [sys.executable, "-m", "ingest_function.server"]
    command += ["--source", "ingest_function/main.py", "--target", "ingest", "--port", "0"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_the_server_refuses_a_missing_database_with_one_line(tmp_path):
    missing = tmp_path / "GeoLite2-ASN.mmdb"
    proc = _refused_start(tmp_path, str(missing))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"oie ingest: configuration error: OIE_IP_ORG_DB: {missing}: no such file"]


def test_the_server_refuses_a_file_that_is_not_a_maxmind_database(tmp_path):
    bogus = tmp_path / "asn.csv"
    bogus.write_text("network,asn\n")
    proc = _refused_start(tmp_path, str(bogus))
    assert proc.returncode == 2
    assert f"OIE_IP_ORG_DB: {bogus}: not a MaxMind database" in proc.stderr
    assert "Traceback" not in proc.stderr
