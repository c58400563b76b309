"""What an endpoint may use of the per-process service: a protocol, so the endpoint
modules depend on this description and never import the router (`app.Service`) above them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ingest_function.origins import OriginPolicy
from ingest_function.ratelimit import RateLimiter
from ingest_function.sinks.base import DeadLetter, Sink
from ingest_function.web import HttpRequest, HttpResponse
from oie_core.iporg import NetworkLookup
from oie_core.settings import Settings
from oie_core.tokens import Keyring
from oie_core.tombstones import TombstoneKey


class Context(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def origins(self) -> OriginPolicy: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def ip_key(self) -> bytes:
        """Key of OIE_IP_MODE=hash."""
        ...

    @property
    def networks(self) -> NetworkLookup:
        """OIE_IP_ORG_DB's databases: the network of a client address (oie_core/iporg.py)."""
        ...

    def clock(self) -> float:
        """Now, epoch seconds: received_at of what lands (the simulator sets its own)."""
        ...

    def verify_token(self, token: str | None) -> bool:
        """tokens.verify with this process's keyring, cached (a pixel repeats its token)."""
        ...

    def forgotten(self, visitor_ids: tuple[str | None, ...], token: str | None) -> bool:
        """Whether a visitor id or the token is tombstoned (oie forget, POST /optout)."""
        ...

    @property
    def checks_tombstones(self) -> bool:
        """False in production without OIE_TOMBSTONE_SECRET (nothing can be hashed)."""
        ...

    @property
    def forgotten_dropped(self) -> int:
        """Events this process dropped for a forgotten visitor or token."""
        ...

    def tombstone_key(self) -> TombstoneKey:
        """The key of the tombstones' hashes (SettingsError when production has none)."""
        ...

    def remember_tombstones(self, records: list[dict[str, Any]]) -> None:
        """Tombstones this process just recorded: they hold here at once."""
        ...

    def count_forgotten(self, n: int) -> None:
        """Count events dropped for a forgotten visitor or token (shown by /health)."""
        ...

    def sinks(self) -> tuple[Sink, DeadLetter | None]:
        """The primary sink and the dead letter, opened in this process on first use."""
        ...


Endpoint = Callable[[Context, HttpRequest], HttpResponse]
