"""Write a MaxMind-format network database (PyPI `mmdb-writer`): the demo's own, so `oie
demo` shows company_activity without any licence, and the tests' fixtures shaped like
GeoLite2-ASN, GeoIP2-ISP and IPinfo Lite. `maxminddb` (what the collector reads with,
oie_core/iporg.py) reads what this writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def write_network_db(
    path: Path,
    networks: Iterable[tuple[str, Mapping[str, Any]]],
    database_type: str = "OIE-Demo-Networks",
) -> Path:
    """`networks`: (CIDR, record) pairs, IPv4 and IPv6 in one file; the records are stored
    as given (field names of the database type being imitated)."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        description={"en": f"{database_type} written by the Outbound Intent Engine"},
    )
    for cidr, record in networks:
        writer.insert_network(IPSet([cidr]), dict(record))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer.to_db_file(str(tmp))
    tmp.replace(path)
    return path
