"""The one email rule used everywhere: trim, lowercase, hash the UTF-8 bytes as lowercase hex.

Test vector (docs/design.md): " Ada@Example.COM " -> ada@example.com ->
sha256 b5fc85e5..., sha1 3ca93ad8..., md5 3e3417d7...
"""

from __future__ import annotations

import hashlib


def normalize_email(raw: str) -> str:
    # Nothing but trim + lowercase: any cleverer rule (dots, plus tags) would make the
    # browser, the loader and the warehouse disagree.
    return raw.strip().lower()


def email_hashes(raw: str) -> dict[str, str]:
    data = normalize_email(raw).encode("utf-8")
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
    }


def email_sha256(raw: str) -> str:
    return hashlib.sha256(normalize_email(raw).encode("utf-8")).hexdigest()
