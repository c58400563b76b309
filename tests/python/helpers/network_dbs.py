"""Network databases written in the test, shaped like the real ones the collector reads
(oie_core/iporg.py): GeoLite2-ASN, GeoIP2-ISP with connection_type, IPinfo Lite. Addresses
are documentation ranges (and one private range some databases map anyway)."""

from __future__ import annotations

from pathlib import Path

from oie.network_db import write_network_db

ACME_V4 = "203.0.113.0/24"
GLOBEX_V6 = "2001:db8:1::/48"
CARRIER_V4 = "198.51.100.0/24"


def geolite2_asn(folder: Path) -> Path:
    return write_network_db(
        folder / "GeoLite2-ASN.mmdb",
        [
            (
                ACME_V4,
                {
                    "autonomous_system_number": 64500,
                    "autonomous_system_organization": "EXAMPLE-TRANSIT",
                },
            ),
            (
                GLOBEX_V6,
                {
                    "autonomous_system_number": 64501,
                    "autonomous_system_organization": "GLOBEX Corporation",
                },
            ),
            (
                CARRIER_V4,
                {
                    "autonomous_system_number": 64503,
                    "autonomous_system_organization": "Example Wireless",
                },
            ),
            # some databases map private space to IANA: the collector must never look it up
            (
                "10.0.0.0/8",
                {"autonomous_system_number": 1, "autonomous_system_organization": "IANA"},
            ),
            (
                "100.64.0.0/10",
                {"autonomous_system_number": 2, "autonomous_system_organization": "CGNAT"},
            ),
        ],
        "GeoLite2-ASN",
    )


def geoip2_isp(folder: Path) -> Path:
    return write_network_db(
        folder / "GeoIP2-ISP.mmdb",
        [
            (
                ACME_V4,
                {
                    "autonomous_system_number": 64500,
                    "autonomous_system_organization": "EXAMPLE-TRANSIT",
                    "isp": "Example Transit",
                    "organization": "Acme Holdings",
                    "connection_type": "Corporate",
                },
            ),
            (
                CARRIER_V4,
                {
                    "isp": "Example Wireless",
                    "organization": "Example Wireless",
                    "connection_type": "Cellular",
                },
            ),
        ],
        "GeoIP2-ISP",
    )


def ipinfo_lite(folder: Path) -> Path:
    return write_network_db(
        folder / "ipinfo_lite.mmdb",
        [
            (
                ACME_V4,
                {
                    "asn": "AS64500",
                    "as_name": "Example Transit",
                    "as_domain": "acme.example",
                    "country_code": "US",
                },
            ),
            (
                GLOBEX_V6,
                {
                    "asn": "AS64501",
                    "as_name": "Globex Corporation",
                    "as_domain": "globex.example",
                    "country_code": "DE",
                },
            ),
        ],
        "ipinfo standard_location.mmdb",
    )
