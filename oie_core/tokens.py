"""Self-verifying identity tokens for email links (docs/design.md "Identity tokens").

Layout, 11 characters of [0-9A-Za-z]: 1 key-id char | 7 id chars | 3 check chars.
The check is base62(HMAC(secret, key_id + id)), so a forged or altered token is rejected
without any lookup. The id is derived from HMAC(secret, campaign | normalized email), so
re-importing a lead list mints the same tokens; on a collision the newcomer takes the next
counter value and the existing token never changes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from oie_core.hashing import normalize_email

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_RE = re.compile(r"\A[0-9A-Za-z]{11}\Z")  # \Z: `$` would also pass a trailing newline
ID_LEN = 7
CHECK_LEN = 3
MAX_COUNTER = 1000
_BASE62_SPAN = {n: 62**n for n in (ID_LEN, CHECK_LEN)}


class TokenConfigError(ValueError):
    """OIE_TOKEN_SECRET is missing or malformed."""


def _base62(data: bytes, length: int) -> str:
    """The `length` lowest base-62 digits of the big-endian number `data`, most significant
    first. Reducing modulo 62**length first gives the same digits with small-int arithmetic
    (a campaign import mints millions of tokens)."""
    n = int.from_bytes(data, "big") % _BASE62_SPAN[length]
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def _mac(secret: bytes, message: str) -> bytes:
    # hmac.digest is the one-shot C path: the same bytes as hmac.new(...).digest().
    return hmac.digest(secret, message.encode("utf-8"), hashlib.sha256)


@dataclass(frozen=True)
class Keyring:
    """Active secrets by key id; the first is the one new tokens are minted with."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, spec: str | None) -> Keyring:
        """`id:secret,id:secret` pairs, or a single secret that becomes key `0`."""
        parts = [p.strip() for p in (spec or "").split(",") if p.strip()]
        if not parts:  # also "," alone, which would leave no key to mint with
            raise TokenConfigError("OIE_TOKEN_SECRET is empty: set a secret or id:secret pairs")
        keys: dict[str, bytes] = {}
        if len(parts) == 1 and ":" not in parts[0]:
            keys["0"] = parts[0].encode("utf-8")
        else:
            for part in parts:
                key_id, sep, secret = part.partition(":")
                if not sep or len(key_id) != 1 or key_id not in ALPHABET or not secret:
                    raise TokenConfigError(
                        "OIE_TOKEN_SECRET entries must look like K:secret with K one of [0-9A-Za-z]"
                    )
                if key_id in keys:
                    raise TokenConfigError(f"OIE_TOKEN_SECRET repeats key id {key_id!r}")
                keys[key_id] = secret.encode("utf-8")
        for key_id, key in keys.items():
            if len(key) < 16:
                raise TokenConfigError(
                    f"OIE_TOKEN_SECRET key {key_id!r} is shorter than 16 characters"
                )
        return cls(keys=keys, current=next(iter(keys)))


def _check(secret: bytes, key_id: str, token_id: str) -> str:
    return _base62(_mac(secret, "check|" + key_id + token_id), CHECK_LEN)


def _token_id(secret: bytes, campaign: str, email: str, counter: int) -> str:
    message = f"id|{campaign}|{email}" if counter == 0 else f"id|{campaign}|{email}|{counter}"
    return _base62(_mac(secret, message), ID_LEN)


def candidate(keyring: Keyring, campaign: str, email: str, counter: int = 0) -> str:
    key_id = keyring.current
    secret = keyring.keys[key_id]
    token_id = _token_id(secret, campaign, normalize_email(email), counter)
    return key_id + token_id + _check(secret, key_id, token_id)


def mint(
    keyring: Keyring,
    campaign: str,
    email: str,
    owner_of: Callable[[str], str | None] = lambda _token: None,
) -> str:
    """Mint the token for (campaign, email).

    `owner_of(token)` returns the (campaign, email) key already holding a token, or None.
    A token held by someone else is skipped (counter + 1); one held by this lead is reused.
    """
    me = f"{campaign}|{normalize_email(email)}"
    for counter in range(MAX_COUNTER):
        token = candidate(keyring, campaign, email, counter)
        owner = owner_of(token)
        if owner is None or owner == me:
            return token
    raise RuntimeError("token space exhausted for this lead (1000 collisions): check the registry")


def verify(keyring: Keyring, token: str | None) -> bool:
    """True when the token has the right shape, a known key id and a matching check."""
    if not token or not TOKEN_RE.match(token):
        return False
    key_id, token_id, check = token[0], token[1 : 1 + ID_LEN], token[1 + ID_LEN :]
    secret = keyring.keys.get(key_id)
    if secret is None:
        return False
    return hmac.compare_digest(_check(secret, key_id, token_id), check)
