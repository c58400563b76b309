"""`X-OIE-Signature: sha256=<hex HMAC-SHA256(secret, body)>` for server-to-server senders."""

from __future__ import annotations

import hashlib
import hmac
import re

_SIG_RE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


def signature_valid(header: str, body: bytes, secret: str | None) -> bool:
    """False for a malformed header, a wrong MAC, or no secret configured (an unverifiable
    signature is refused, never waved through)."""
    m = _SIG_RE.match(header.strip())
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() if secret else None
    return bool(m and expected and hmac.compare_digest(m.group(1).lower(), expected))
