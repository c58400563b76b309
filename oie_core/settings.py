"""The one typed settings object, read from `OIE_*` environment variables.

`Settings.from_env()` validates everything up front so a bad deployment fails at start with
one clear message (SettingsError) instead of on the first request. Reading settings never
opens a long-lived file: the ingest server forks after import.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from oie_core.tokens import Keyring, TokenConfigError
from oie_core.tombstones import TombstoneKey

REPO_ROOT = Path(__file__).resolve().parents[1]

# Networks of well-known link scanners (email security gateways that pre-fetch every link).
# Deliberately short and documented in docs/ingest.md; extend with OIE_SCANNER_NETWORKS.
DEFAULT_SCANNER_NETWORKS = (
    "40.94.0.0/16",  # Microsoft Exchange Online Protection / Safe Links
    "52.100.0.0/14",  # Microsoft 365 outbound / Defender scanning
    "104.47.0.0/17",  # Microsoft Exchange Online Protection
    "148.163.128.0/19",  # Proofpoint
    "67.231.144.0/20",  # Proofpoint
    "205.139.110.0/24",  # Mimecast
    "207.211.30.0/24",  # Mimecast
    "64.235.144.0/20",  # Barracuda
    "66.249.80.0/20",  # Google image proxy / link prefetch
)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says what is expected."""


def data_dir_from_env(env: Mapping[str, str] | None = None) -> Path:
    """$OIE_DATA_DIR, else `data/` in the project: the checkout root when running from
    source, else the current folder. The one place this default is decided; dbt's profile
    and sources say `data` too, the same folder for a `dbt build` run by hand in the
    checkout (`oie` runs dbt inside the data dir with OIE_DATA_DIR=., oie/warehouse.py)."""
    e = os.environ if env is None else env
    if e.get("OIE_DATA_DIR"):
        path = Path(e["OIE_DATA_DIR"]).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise SettingsError(f"OIE_DATA_DIR={e['OIE_DATA_DIR']}: not a directory")
        return path
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "data"
    return (Path.cwd() / "data").resolve()


# Variables that used to mean two things; naming one now fails with what to set instead.
_RENAMED = {
    "OIE_BQ_METHOD": (
        "set OIE_BQ_WRITE_METHOD (the sink: storage|insert_all) or OIE_BQ_AUTH_METHOD "
        "(dbt's BigQuery auth method)"
    ),
    "OIE_BQ_ENDPOINT": "set OIE_BQ_API_ENDPOINT (one name for the BigQuery REST endpoint)",
}


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*(b|kb|k|mb|m|gb|g)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}
_SIZE_UNITS["gb"] = 1024**3
# Workers KV's smallest expiration_ttl; the sync's keys expire OIE_KV_TTL after each push.
MIN_KV_TTL_S = 60
# Hot-lead alerts (docs/alerts.md): the levels an alert may fire at (cold is where an episode
# ends at the latest, so it is never one), and the shape of a Standard Webhooks secret.
ALERT_LEVELS = ("warm", "hot", "burning")
_WEBHOOK_SECRET_RE = re.compile(r"^whsec_([A-Za-z0-9+/]+={0,2})$")
_FAULT_RE = re.compile(
    r"^(sink|deadletter)-(503|raise|timeout|enospc)(?:-next-(\d+))?$|^(iporg)-(raise)$"
)


def parse_duration(name: str, raw: str) -> float:
    """Seconds from `90`, `90s`, `15m`, `12h`, `7d`, `250ms`."""
    m = _DURATION_RE.match(raw)
    if not m:
        raise SettingsError(f"{name}={raw!r}: expected a duration like 30s, 15m, 12h or 7d")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def parse_size(name: str, raw: str) -> int:
    m = _SIZE_RE.match(raw)
    if not m:
        raise SettingsError(f"{name}={raw!r}: expected a size like 65536, 64kb or 128mb")
    return int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]


def parse_webhook_url(name: str, raw: str | None) -> str | None:
    """An http(s) URL with a host, or None when unset. The value is never echoed: a Slack
    incoming-webhook URL is a secret."""
    if raw is None:
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in raw.strip():
        raise SettingsError(
            f"{name} is not an http(s) URL with a host (the value is not shown: it is a secret)"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise SettingsError(f"{name} has an invalid port (the value is not shown)") from None
    return raw.strip()


def parse_webhook_secret(name: str, raw: str | None) -> str | None:
    """A Standard Webhooks secret: `whsec_` and the base64 of the key (never echoed)."""
    if raw is None:
        return None
    m = _WEBHOOK_SECRET_RE.match(raw.strip())
    key = b""
    if m:
        try:
            key = base64.b64decode(m.group(1), validate=True)
        except (binascii.Error, ValueError):
            key = b""
    if not key:
        raise SettingsError(
            f"{name} must be whsec_ followed by the base64 of the signing key "
            "(as Standard Webhooks secrets are written; the value is not shown)"
        )
    return raw.strip()


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (raw or "").split(",") if p.strip())


@dataclass(frozen=True)
class Fault:
    """One OIE_FAULT clause: which store fails, how, and for how many calls (None = always)."""

    target: str  # "sink" | "deadletter" | "iporg" (every network lookup raises)
    kind: str  # "503" | "raise" | "timeout" | "enospc"
    count: int | None
    spec: str


def parse_faults(raw: str | None) -> tuple[Fault, ...]:
    """`sink-503-next-3`, `sink-raise`, `sink-timeout`, `sink-enospc`, `deadletter-raise`,
    `iporg-raise`, comma-separated."""
    out = []
    for part in _csv(raw):
        m = _FAULT_RE.match(part.lower())
        if not m:
            raise SettingsError(
                f"OIE_FAULT={raw!r}: clauses look like sink-503-next-3, sink-raise, "
                "sink-timeout, sink-enospc, deadletter-raise or iporg-raise"
            )
        if m.group(4):
            out.append(Fault(m.group(4), m.group(5), None, part))
            continue
        out.append(Fault(m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None, part))
    return tuple(out)


@dataclass(frozen=True)
class OriginPattern:
    """An allowed origin: exact, `*` as any port (`http://127.0.0.1:*`) or any subdomain."""

    raw: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, raw: str) -> OriginPattern:
        text = raw.strip().rstrip("/").lower()
        if text == "*":
            return cls(raw, re.compile(r"^https?://[^/]+$"))
        m = re.match(r"^(https?)://([^/:]+)(?::(\d+|\*))?$", text)
        if not m:
            raise SettingsError(
                f"OIE_ALLOWED_ORIGINS entry {raw!r}: expected scheme://host[:port], "
                "with * allowed as the port or as the first host label"
            )
        scheme, host, port = m.groups()
        host_re = re.escape(host)
        if host.startswith("*."):
            host_re = r"(?:[a-z0-9-]+\.)+" + re.escape(host[2:])
        if port == "*":
            port_re = r"(?::\d+)?"
        elif port:
            port_re = ":" + port
        else:
            port_re = ""
        return cls(raw, re.compile(f"^{scheme}://{host_re}{port_re}$"))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    target: str = "local"
    sink: str = "local"
    landing_dir: Path = Path("data/landing")
    allowed_origins: tuple[OriginPattern, ...] = ()
    token_secret: str = ""
    token_secret_generated: bool = False
    # Keys the tombstones' hashes (oie_core/tombstones.py); None in production until set.
    tombstone_secret: str | None = None
    redirect_hosts: tuple[str, ...] = ()
    event_signing_secret: str | None = None
    trusted_proxy: str = "none"
    rate_limit: int = 600
    max_event_age_s: float = 7 * 86400
    max_future_skew_s: float = 300
    max_body_bytes: int = 64 * 1024
    max_batch_events: int = 100
    read_timeout_s: float = 10.0
    ip_mode: str = "truncate"
    ip_hash_secret: str | None = None
    # Network databases of company inference (oie_core/iporg.py), in order; () = off.
    ip_org_db: tuple[str, ...] = ()
    bq_project: str | None = None
    bq_dataset: str | None = None
    bq_table: str = "raw_events"
    bq_rejected_table: str = "raw_rejected_events"
    bq_method: str = "storage"
    bq_endpoint: str | None = None
    bq_grpc_endpoint: str | None = None
    dead_letter: str | None = None
    replay_claim_ttl_s: float = 900.0
    kv: str = "local"
    # The KV sync (docs/kv.md): Cloudflare's names where Cloudflare has one; the SDK's own
    # CLOUDFLARE_BASE_URL is passed on so a settings object built from another mapping
    # (tests, `oie demo`) reaches the same endpoint as the environment it came from.
    kv_ttl_s: float = 90 * 86400
    kv_namespace_id: str | None = None
    cloudflare_account_id: str | None = None
    cloudflare_api_token: str | None = None
    cloudflare_base_url: str | None = None
    # Hot-lead alerts (docs/alerts.md): where they go (none set: the step is skipped), the
    # level that alerts, how often a delivery is tried, and how old an alert may be and
    # still be sent.
    alert_level: str = "hot"
    alert_slack_webhook_url: str | None = None
    alert_webhook_url: str | None = None
    alert_webhook_secret: str | None = None
    alert_max_attempts: int = 8
    alert_max_age_s: float = 24 * 3600
    # Email-tool webhooks (docs/ingest.md "Email webhooks"): no secret, no endpoint (404).
    smartlead_webhook_secret: str | None = None
    instantly_webhook_token: str | None = None
    # HubSpot sync (docs/crm.md); the base URL lets a local stand-in take HubSpot's place.
    hubspot_token: str | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    faults: tuple[Fault, ...] = ()
    sink_timeout_s: float = 10.0
    landing_max_bytes: int = 64 * 1024**2
    landing_max_age_s: float = 300.0
    pixel_dir: Path = REPO_ROOT / "pixel" / "dist"
    scanner_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    first_party_cookie: str = "auto"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every OIE_* setting; raise SettingsError naming the bad one."""
        e = os.environ if env is None else env

        def get(name: str, default: str | None = None) -> str | None:
            value = e.get(name)
            return value if value not in (None, "") else default

        def text(name: str, default: str) -> str:
            return get(name) or default

        def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
            value = (get(name, default) or default).strip().lower()
            if value not in allowed:
                raise SettingsError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
            return value

        def integer(name: str, default: int, minimum: int = 0) -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r}: expected an integer") from None
            if value < minimum:
                raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
            return value

        for old, new in _RENAMED.items():
            if get(old) is not None:
                raise SettingsError(f"{old} is no longer read: {new}")
        data_dir = data_dir_from_env(e)
        target = choice("OIE_TARGET", "local", ("local", "bigquery"))
        sink = choice("OIE_SINK", "local", ("local", "bigquery"))
        landing_dir = Path(get("OIE_LANDING_DIR") or data_dir / "landing").expanduser().resolve()

        origins = tuple(OriginPattern.parse(o) for o in _csv(get("OIE_ALLOWED_ORIGINS")))

        # Token secret: required in production; a local install generates one once and keeps
        # it in $OIE_DATA_DIR/token_secret so `oie campaign create` and the server agree.
        secret = get("OIE_TOKEN_SECRET")
        generated = False
        if secret is None:
            if sink != "local" or target != "local":
                raise SettingsError(
                    "OIE_TOKEN_SECRET is not set: production (OIE_SINK/OIE_TARGET=bigquery) "
                    "needs a secret of at least 16 characters, or id:secret pairs"
                )
            secret = _local_token_secret(data_dir)
            generated = True
        try:
            Keyring.parse(secret)
        except TokenConfigError as exc:
            raise SettingsError(str(exc)) from None

        tombstone_secret = get("OIE_TOMBSTONE_SECRET")
        if tombstone_secret is not None and len(tombstone_secret) < 16:
            raise SettingsError("OIE_TOMBSTONE_SECRET: at least 16 characters (not shown)")

        redirect_hosts = tuple(h.lower() for h in _csv(get("OIE_REDIRECT_HOSTS")))
        for host in redirect_hosts:
            if not re.match(r"^(https?://)?[a-z0-9.-]+(:\d+)?$", host):
                raise SettingsError(
                    f"OIE_REDIRECT_HOSTS entry {host!r}: expected host[:port] "
                    "(optionally with http:// or https://)"
                )

        bq_project, bq_dataset = get("OIE_BQ_PROJECT"), get("OIE_BQ_DATASET")
        if sink == "bigquery" and not (bq_project and bq_dataset):
            raise SettingsError("OIE_SINK=bigquery needs OIE_BQ_PROJECT and OIE_BQ_DATASET")

        ip_mode = choice("OIE_IP_MODE", "truncate", ("truncate", "hash", "drop", "raw"))

        networks = []
        for cidr in (*DEFAULT_SCANNER_NETWORKS, *_csv(get("OIE_SCANNER_NETWORKS"))):
            try:
                networks.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise SettingsError(f"OIE_SCANNER_NETWORKS entry {cidr!r}: not a CIDR") from None

        kv_default = "cloudflare" if get("CLOUDFLARE_API_TOKEN") else "local"
        kv_ttl_s = parse_duration("OIE_KV_TTL", text("OIE_KV_TTL", "90d"))
        if kv_ttl_s < MIN_KV_TTL_S:
            raise SettingsError(
                f"OIE_KV_TTL={get('OIE_KV_TTL')!r}: must be at least 60s "
                "(Workers KV refuses a shorter expiration_ttl)"
            )

        alert_webhook_url = parse_webhook_url("OIE_ALERT_WEBHOOK_URL", get("OIE_ALERT_WEBHOOK_URL"))
        alert_webhook_secret = parse_webhook_secret(
            "OIE_ALERT_WEBHOOK_SECRET", get("OIE_ALERT_WEBHOOK_SECRET")
        )
        if alert_webhook_url and not alert_webhook_secret:
            raise SettingsError(
                "OIE_ALERT_WEBHOOK_URL needs OIE_ALERT_WEBHOOK_SECRET (whsec_...: the key the "
                "receiver verifies each alert's webhook-signature with)"
            )
        alert_level = (get("OIE_ALERT_LEVEL") or "hot").strip().lower()
        if alert_level not in ALERT_LEVELS:
            raise SettingsError(
                f"OIE_ALERT_LEVEL={alert_level!r}: expected one of {', '.join(ALERT_LEVELS)} "
                "(a level above the re-arm level oie_alert_rearm_level, cold by default)"
            )
        alert_max_age_s = parse_duration("OIE_ALERT_MAX_AGE", text("OIE_ALERT_MAX_AGE", "24h"))
        if alert_max_age_s <= 0:
            raise SettingsError(f"OIE_ALERT_MAX_AGE={get('OIE_ALERT_MAX_AGE')!r}: must be above 0")

        return cls(
            data_dir=data_dir,
            target=target,
            sink=sink,
            landing_dir=landing_dir,
            allowed_origins=origins,
            token_secret=secret,
            token_secret_generated=generated,
            tombstone_secret=tombstone_secret,
            redirect_hosts=redirect_hosts,
            event_signing_secret=get("OIE_EVENT_SIGNING_SECRET"),
            trusted_proxy=choice("OIE_TRUSTED_PROXY", "none", ("none", "cloudflare", "gclb")),
            rate_limit=integer("OIE_RATE_LIMIT", 600),
            max_event_age_s=parse_duration("OIE_MAX_EVENT_AGE", text("OIE_MAX_EVENT_AGE", "7d")),
            max_future_skew_s=parse_duration(
                "OIE_MAX_FUTURE_SKEW", text("OIE_MAX_FUTURE_SKEW", "5m")
            ),
            max_body_bytes=parse_size("OIE_MAX_BODY_BYTES", text("OIE_MAX_BODY_BYTES", "65536")),
            max_batch_events=integer("OIE_MAX_BATCH_EVENTS", 100, minimum=1),
            read_timeout_s=parse_duration("OIE_READ_TIMEOUT", text("OIE_READ_TIMEOUT", "10s")),
            ip_mode=ip_mode,
            ip_hash_secret=get("OIE_IP_HASH_SECRET"),
            ip_org_db=_csv(get("OIE_IP_ORG_DB")),
            bq_project=bq_project,
            bq_dataset=bq_dataset,
            bq_table=text("OIE_BQ_TABLE", "raw_events") or "raw_events",
            bq_rejected_table=text("OIE_BQ_REJECTED_TABLE", "raw_rejected_events")
            or "raw_rejected_events",
            bq_method=choice("OIE_BQ_WRITE_METHOD", "storage", ("storage", "insert_all")),
            # Emulator/test endpoints (e.g. bqemulator on 127.0.0.1): anonymous credentials.
            # The REST one is the same variable dbt's profile reads (api_endpoint).
            bq_endpoint=get("OIE_BQ_API_ENDPOINT"),
            bq_grpc_endpoint=get("OIE_BQ_GRPC_ENDPOINT"),
            dead_letter=get("OIE_DEAD_LETTER"),
            replay_claim_ttl_s=parse_duration(
                "OIE_REPLAY_CLAIM_TTL", text("OIE_REPLAY_CLAIM_TTL", "15m")
            ),
            kv=choice("OIE_KV", kv_default, ("local", "cloudflare")),
            kv_ttl_s=kv_ttl_s,
            kv_namespace_id=get("OIE_KV_NAMESPACE_ID"),
            cloudflare_account_id=get("CLOUDFLARE_ACCOUNT_ID"),
            cloudflare_api_token=get("CLOUDFLARE_API_TOKEN"),
            cloudflare_base_url=get("CLOUDFLARE_BASE_URL"),
            alert_level=alert_level,
            alert_slack_webhook_url=parse_webhook_url(
                "OIE_ALERT_SLACK_WEBHOOK_URL", get("OIE_ALERT_SLACK_WEBHOOK_URL")
            ),
            alert_webhook_url=alert_webhook_url,
            alert_webhook_secret=alert_webhook_secret,
            alert_max_attempts=integer("OIE_ALERT_MAX_ATTEMPTS", 8, minimum=1),
            alert_max_age_s=alert_max_age_s,
            smartlead_webhook_secret=get("OIE_SMARTLEAD_WEBHOOK_SECRET"),
            instantly_webhook_token=get("OIE_INSTANTLY_WEBHOOK_TOKEN"),
            hubspot_token=get("OIE_HUBSPOT_TOKEN"),
            hubspot_base_url=(
                parse_webhook_url("OIE_HUBSPOT_BASE_URL", get("OIE_HUBSPOT_BASE_URL"))
                or "https://api.hubapi.com"
            ).rstrip("/"),
            faults=parse_faults(get("OIE_FAULT")),
            sink_timeout_s=parse_duration("OIE_SINK_TIMEOUT", text("OIE_SINK_TIMEOUT", "10s")),
            landing_max_bytes=parse_size(
                "OIE_LANDING_MAX_BYTES", text("OIE_LANDING_MAX_BYTES", "64mb")
            ),
            landing_max_age_s=parse_duration(
                "OIE_LANDING_MAX_AGE", text("OIE_LANDING_MAX_AGE", "5m")
            ),
            pixel_dir=Path(get("OIE_PIXEL_DIR") or REPO_ROOT / "pixel" / "dist"),
            scanner_networks=tuple(networks),
            first_party_cookie=choice("OIE_FIRST_PARTY_COOKIE", "auto", ("auto", "off")),
        )

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring.parse(self.token_secret)

    @property
    def default_site(self) -> str | None:
        """The first OIE_REDIRECT_HOSTS entry as an origin (https unless written otherwise)."""
        if not self.redirect_hosts:
            return None
        host = self.redirect_hosts[0]
        if host.startswith(("http://", "https://")):
            return host
        bare = host.split(":")[0]
        scheme = "http" if bare in ("localhost", "127.0.0.1") else "https"
        return f"{scheme}://{host}"

    def tombstone_key(self) -> TombstoneKey:
        """The key of the tombstones' hashes: OIE_TOMBSTONE_SECRET, or on a local install a
        secret made once in $OIE_DATA_DIR/tombstone_secret (beside token_secret)."""
        if self.tombstone_secret is not None:
            return TombstoneKey(self.tombstone_secret)
        if self.sink != "local" or self.target != "local":
            raise SettingsError(
                "OIE_TOMBSTONE_SECRET is not set: production (OIE_SINK/OIE_TARGET=bigquery) "
                "needs a secret of at least 16 characters to record a forgotten person"
            )
        return TombstoneKey(_local_token_secret(self.data_dir, "tombstone_secret"))

    def faults_for(self, target: str) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if f.target == target)


def _local_token_secret(data_dir: Path, name: str = "token_secret") -> str:
    """Read or create (once, race-free via O_EXCL) a local-dev secret file."""
    path = data_dir / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Write a private temp file, then link it into place: link fails if another process won
    # the race, and nobody ever reads a half-written secret.
    tmp = data_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value
