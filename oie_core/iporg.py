"""Which network an address belongs to: `NetworkLookup.lookup(ip) -> Network`, offline.

Company inference (docs/warehouse.md "Companies from networks") needs the organisation
behind a visitor's address, and the collector stores addresses truncated or hashed
(OIE_IP_MODE), so the lookup happens at ingest, on the full address, once per request.

Backends come from OIE_IP_ORG_DB, a comma list read in order; for every field the first
backend that knows it wins (a GeoLite2-ASN file for the AS, then an ISP file for the
organisation, say). Unset: no lookup at all, every network field lands null.
- a path: a MaxMind-format database (`maxminddb`): GeoLite2/GeoIP2-ASN, GeoIP2-ISP,
  GeoIP2-Connection-Type, GeoIP2-Domain, GeoIP2-Enterprise (fields under `traits`) or
  IPinfo Lite (`asn` "AS15169", `as_name`, `as_domain`). Any record of that shape works.
- `geoip2fast`: the AS names bundled with PyPI `geoip2fast` (GeoLite2 data of 2024-06-18,
  no AS numbers): for trying the feature out, never for production (stale data, and
  GeoLite2's licence asks for attribution and current data). Choosing it logs its date.

Addresses that belong to no organisation on the internet (private, loopback, link-local,
CGNAT 100.64/10, multicast, unspecified) are never looked up: a database that maps them
anyway (some do, to "IANA") would otherwise name every office LAN the same company. The
documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) are looked
up: the demo and the tests use them, and no real visitor comes from them.

Readers open lazily in each process (the ingest server forks after import) and answers are
LRU-cached per process; `check()` opens every backend once at start so a bad path or a
file that is not a MaxMind database stops the server with one line (IpOrgError).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from oie_core.settings import SettingsError

log = logging.getLogger("oie.iporg")

# The raw_events columns a lookup fills (oie_core/raw_schema.py; asn and as_org also come
# from the trusted proxy).
RAW_FIELDS = ("asn", "as_org", "ip_org", "ip_domain", "ip_connection_type", "ip_user_type")
GEOIP2FAST = "geoip2fast"
_GEOIP2FAST_FILE = "geoip2fast-asn-ipv6.dat.gz"
CACHE_SIZE = 65536
_TEXT_LIMIT = 200

_NOT_ON_THE_INTERNET = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


# The same as integer ranges per IP version: a membership test is two comparisons.
_RANGES: dict[int, tuple[tuple[int, int], ...]] = {
    version: tuple(
        (int(net.network_address), int(net.broadcast_address))
        for net in _NOT_ON_THE_INTERNET
        if net.version == version
    )
    for version in (4, 6)
}


class IpOrgError(SettingsError):
    """OIE_IP_ORG_DB names something that cannot be read as a network database."""


@dataclass(frozen=True, slots=True)
class Network:
    """What the databases say of one address; every field may be unknown (None)."""

    asn: str | None = None  # digits only: "15169" (IPinfo's "AS15169" is normalised)
    as_org: str | None = None  # the autonomous system's organisation
    org: str | None = None  # the organisation the address is assigned to (ISP databases)
    domain: str | None = None  # that organisation's domain (IPinfo as_domain, GeoIP2-Domain)
    connection_type: str | None = None  # Cable/DSL, Corporate, Cellular, Satellite
    user_type: str | None = None  # business, residential, cellular, hosting, college, ...

    def filled_from(self, other: Network) -> Network:
        """This network with its unknown fields taken from `other` (first hit wins)."""
        if other == NOTHING:
            return self
        if self == NOTHING:
            return other
        pairs = zip(self.values(), other.values(), strict=True)
        return Network(*(mine if mine is not None else theirs for mine, theirs in pairs))

    def values(self) -> tuple[str | None, ...]:
        return (
            self.asn,
            self.as_org,
            self.org,
            self.domain,
            self.connection_type,
            self.user_type,
        )


NOTHING = Network()


class Backend(Protocol):
    name: str

    def lookup(self, ip: Address) -> Network: ...

    def describe(self) -> str: ...


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())[:_TEXT_LIMIT]
    return text or None


def _asn(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().upper().removeprefix("AS")
    return text if text.isdigit() else None


def network_of_record(record: Any) -> Network:
    """A MaxMind-format record, whatever its database type, as a Network."""
    if not isinstance(record, Mapping):
        return NOTHING
    traits = record.get("traits")
    if isinstance(traits, Mapping):  # GeoIP2 Enterprise / Insights layout
        record = {**record, **traits}
    return Network(
        asn=_asn(record.get("autonomous_system_number") or record.get("asn")),
        as_org=_text(record.get("autonomous_system_organization") or record.get("as_name")),
        org=_text(record.get("organization") or record.get("isp")),
        domain=_text(record.get("domain") or record.get("as_domain")),
        connection_type=_text(record.get("connection_type")),
        user_type=_text(record.get("user_type")),
    )


class MaxMindBackend:
    def __init__(self, path: Path) -> None:
        import maxminddb

        self.name = str(path)
        try:
            self._reader = maxminddb.open_database(str(path))
        except FileNotFoundError:
            raise IpOrgError(f"OIE_IP_ORG_DB: {path}: no such file") from None
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as exc:
            raise IpOrgError(
                f"OIE_IP_ORG_DB: {path}: not a MaxMind database ({type(exc).__name__})"
            ) from None
        meta = self._reader.metadata()
        self._kind = str(meta.database_type)
        self._built = int(meta.build_epoch)

    def lookup(self, ip: Address) -> Network:
        return network_of_record(self._reader.get(ip))

    def describe(self) -> str:
        from datetime import UTC, datetime

        built = datetime.fromtimestamp(self._built, UTC).date().isoformat()
        return f"{Path(self.name).name} ({self._kind}, built {built})"

    def close(self) -> None:
        self._reader.close()


class GeoIP2FastBackend:
    """PyPI geoip2fast's bundled AS names: evaluation only (see the module docstring)."""

    def __init__(self) -> None:
        try:
            from geoip2fast import GeoIP2Fast
        except ImportError:
            raise IpOrgError(
                "OIE_IP_ORG_DB: geoip2fast is not installed (pip install geoip2fast==1.2.2)"
            ) from None
        self.name = GEOIP2FAST
        self._db = GeoIP2Fast(geoip2fast_data_file=_GEOIP2FAST_FILE, verbose=False)
        self._source = str(self._db.get_database_info().get("source_info", "unknown"))
        log.warning(
            "OIE_IP_ORG_DB=geoip2fast: AS names from %s, for evaluation only (no AS "
            "numbers, stale data; GeoLite2 licence: attribution required)",
            self._source,
        )

    def lookup(self, ip: Address) -> Network:
        found = self._db.lookup(str(ip))
        if getattr(found, "is_private", False):
            return NOTHING
        return Network(as_org=_text(getattr(found, "asn_name", None)))

    def describe(self) -> str:
        return f"geoip2fast ({self._source}, evaluation only)"

    def close(self) -> None:
        pass


def open_backend(spec: str) -> MaxMindBackend | GeoIP2FastBackend:
    if spec.strip().lower() == GEOIP2FAST:
        return GeoIP2FastBackend()
    path = Path(spec.strip()).expanduser()
    if path.is_dir():
        raise IpOrgError(f"OIE_IP_ORG_DB: {path}: a folder, not a MaxMind database file")
    return MaxMindBackend(path)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def public_address(ip: str) -> Address | None:
    """The address as the databases key it (an IPv4-mapped IPv6 address as IPv4), or None
    for one that belongs to no organisation on the internet (see the module docstring)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    value = int(addr)
    if any(low <= value <= high for low, high in _RANGES[addr.version]):
        return None
    return addr


class NetworkLookup:
    """The configured backends of one process, opened on first use after a fork."""

    def __init__(
        self,
        specs: tuple[str, ...],
        opener: Callable[[str], Backend] = open_backend,
        *,
        fail: bool = False,
    ) -> None:
        self.specs = specs
        self._opener = opener
        self._fail = fail  # OIE_FAULT=iporg-raise (tests): every backend lookup raises
        self._backends: tuple[Backend, ...] | None = None
        self._pid = -1
        self._lock = threading.Lock()
        self._cached = lru_cache(maxsize=CACHE_SIZE)(self._lookup_uncached)
        self.errors = 0  # lookups a backend raised on: fields left null, the event lands

    @property
    def enabled(self) -> bool:
        return bool(self.specs)

    def check(self) -> list[str]:
        """Open every backend once (in the parent, at start) and describe it; IpOrgError
        names the first that cannot be read."""
        described = []
        for spec in self.specs:
            backend = self._opener(spec)
            described.append(backend.describe())
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        return described

    def _opened(self) -> tuple[Backend, ...]:
        backends = self._backends
        if backends is None or self._pid != os.getpid():
            with self._lock:
                if self._backends is None or self._pid != os.getpid():
                    self._backends = tuple(self._opener(spec) for spec in self.specs)
                    self._cached.cache_clear()
                    self._pid = os.getpid()
                backends = self._backends
        return backends

    def lookup(self, ip: str | None) -> Network:
        if not self.specs or not ip:
            return NOTHING
        self._opened()
        return self._cached(ip)  # keyed by the address as sent: a hit parses nothing

    def _lookup_uncached(self, ip: str) -> Network:
        address = public_address(ip)
        if address is None:
            return NOTHING
        found = NOTHING
        for backend in self._backends or ():
            try:
                if self._fail:
                    raise RuntimeError("OIE_FAULT=iporg-raise")
                found = found.filled_from(backend.lookup(address))
            except Exception as exc:  # a damaged record: this field set stays unknown
                self.errors += 1
                log.warning("network lookup failed in %s: %s", backend.name, exc)
        return found

    def describe(self) -> str:
        """For /health: `off`, or the backends in order."""
        if not self.specs:
            return "off: OIE_IP_ORG_DB is not set"
        return ", ".join(b.describe() for b in self._opened())
