"""The network lookup (oie_core/iporg.py) over databases written in the test: each shape's
fields, first hit per field across backends, addresses never looked up, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from oie_core.iporg import NOTHING, IpOrgError, Network, NetworkLookup, public_address
from tests.python.helpers import network_dbs


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("dbs")
    return {
        "asn": str(network_dbs.geolite2_asn(folder)),
        "isp": str(network_dbs.geoip2_isp(folder)),
        "ipinfo": str(network_dbs.ipinfo_lite(folder)),
    }


def test_geolite2_asn_gives_the_as_number_and_organisation(dbs):
    lookup = NetworkLookup((dbs["asn"],))
    assert lookup.lookup("203.0.113.7") == Network(asn="64500", as_org="EXAMPLE-TRANSIT")
    assert lookup.lookup("2001:db8:1::42") == Network(asn="64501", as_org="GLOBEX Corporation")
    assert lookup.lookup("192.0.2.1") == NOTHING  # not in the file


def test_geoip2_isp_gives_the_organisation_and_connection_type(dbs):
    lookup = NetworkLookup((dbs["isp"],))
    found = lookup.lookup("203.0.113.7")
    assert (found.org, found.connection_type, found.asn) == ("Acme Holdings", "Corporate", "64500")


def test_ipinfo_lite_gives_the_domain_and_a_normalised_as_number(dbs):
    found = NetworkLookup((dbs["ipinfo"],)).lookup("2001:db8:1::42")
    assert found == Network(asn="64501", as_org="Globex Corporation", domain="globex.example")


def test_the_first_backend_that_knows_a_field_wins(dbs):
    found = NetworkLookup((dbs["asn"], dbs["isp"], dbs["ipinfo"])).lookup("203.0.113.7")
    assert found == Network(
        asn="64500",
        as_org="EXAMPLE-TRANSIT",  # GeoLite2-ASN is first; IPinfo's name is not used
        org="Acme Holdings",
        domain="acme.example",  # only IPinfo knows it
        connection_type="Corporate",
    )
    reordered = NetworkLookup((dbs["ipinfo"], dbs["asn"])).lookup("203.0.113.7")
    assert reordered.as_org == "Example Transit"


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "100.64.0.9", "127.0.0.1", "::1", "fe80::1", "fd00::1", "::ffff:10.1.2.3"],
)
def test_private_and_reserved_addresses_are_never_looked_up(dbs, address):
    assert public_address(address) is None
    assert NetworkLookup((dbs["asn"],)).lookup(address) == NOTHING


def test_an_ipv4_mapped_address_is_looked_up_as_ipv4(dbs):
    assert str(public_address("::ffff:203.0.113.7")) == "203.0.113.7"
    assert NetworkLookup((dbs["asn"],)).lookup("::ffff:203.0.113.7").asn == "64500"


def test_no_database_configured_looks_nothing_up():
    lookup = NetworkLookup(())
    assert not lookup.enabled
    assert lookup.lookup("203.0.113.7") == NOTHING
    assert lookup.describe() == "off: OIE_IP_ORG_DB is not set"


def test_a_missing_file_is_refused_naming_it(tmp_path: Path):
    missing = tmp_path / "nope.mmdb"
    with pytest.raises(IpOrgError, match=f"OIE_IP_ORG_DB: {missing}: no such file"):
        NetworkLookup((str(missing),)).check()


def test_a_file_that_is_not_a_maxmind_database_is_refused(tmp_path: Path):
    bogus = tmp_path / "asn.csv"
    bogus.write_text("network,asn\n203.0.113.0/24,64500\n")
    with pytest.raises(IpOrgError, match=r"asn\.csv: not a MaxMind database"):
        NetworkLookup((str(bogus),)).check()


def test_a_failing_lookup_leaves_the_fields_unknown_and_is_counted(dbs):
    lookup = NetworkLookup((dbs["asn"],), fail=True)
    assert lookup.lookup("203.0.113.7") == NOTHING
    assert lookup.errors == 1


def test_check_describes_each_database(dbs):
    described = NetworkLookup((dbs["asn"], dbs["ipinfo"])).check()
    assert described[0].startswith("GeoLite2-ASN.mmdb (GeoLite2-ASN, built ")
    assert described[1].startswith("ipinfo_lite.mmdb (ipinfo standard_location.mmdb, built ")


def test_geoip2fast_names_a_well_known_network():
    # geoip2fast is a dev dependency (pyproject.toml): this runs wherever the tests do
    lookup = NetworkLookup(("geoip2fast",))
    assert "20240618" in lookup.check()[0]
    assert lookup.lookup("8.8.8.8") == Network(as_org="GOOGLE")


def test_the_fields_a_lookup_fills_are_raw_event_columns():
    from oie_core.iporg import RAW_FIELDS
    from oie_core.raw_schema import RAW_EVENTS

    assert set(RAW_FIELDS) <= set(RAW_EVENTS.names)
    assert len(RAW_FIELDS) == len(Network().values())
