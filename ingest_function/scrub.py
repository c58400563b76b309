"""Server-side scrubbing of URLs and free text: no email address, no form value lands.

Rule (docs/ingest.md "Scrubbing"), applied to `url`, `referrer`, `click.href`, `video.src`:
- user:password@ in the authority is removed;
- a query parameter is dropped when its name or (percent-decoded, up to 3 times) value
  holds an `@`, or when its NAME looks like a form field (email, name, phone, address,
  password, message, ... see FORM_FIELD_RE) -- a GET form puts its values there;
- a fragment holding an `@` is dropped; `#/route?k=v` fragments get the parameter rule;
- an email address anywhere else (the path) is replaced by `[email]`;
- the result is cut at 2,048 characters.
Every other string the pixel sends (titles, click text, ids) gets the `[email]` replacement.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus

# Local parts may use RFC 5322 specials, except the URL delimiters # & / = ? (an address
# holding those is still caught: any query parameter or fragment with an @ is dropped).
# Domains may be IDNs (\w is Unicode).
EMAIL_RE = re.compile(r"[\w.!$%'*+^`{|}~\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Percent-encoded @ (%40) hides addresses from a plain search; decode before testing.
_ENCODED_AT = re.compile(r"%40", re.IGNORECASE)
FORM_FIELD_RE = re.compile(
    r"(?:^|[_\-\[.])(?:e-?mail|mail|name|first_?name|last_?name|full_?name|fname|lname|"
    r"surname|phone|tel|telephone|mobile|cell|address|street|city|zip|zipcode|postcode|"
    r"postal_?code|company|organi[sz]ation|job_?title|password|passwd|pass|pwd|ssn|dob|"
    r"birthday|birth_?date|message|comment|comments|card|cc|cvv|iban|username|user|login)"
    r"(?:$|[_\-\].])",
    re.IGNORECASE,
)
MAX_URL = 2048
EMAIL_MASK = "[email]"


def scrub_text(value: str) -> str:
    """Replace email addresses in free text."""
    if "@" not in value and "%" not in value:
        return value
    value = EMAIL_RE.sub(EMAIL_MASK, value)
    if "%" in value:
        decoded = _decode(value)
        if EMAIL_RE.search(decoded):
            value = EMAIL_RE.sub(EMAIL_MASK, decoded)
    return value


def _decode(value: str) -> str:
    """Percent-decode up to three times: `%2540` hides an `@` behind double encoding."""
    for _ in range(3):
        if "%" not in value and "+" not in value:
            break
        decoded = unquote_plus(value)
        if decoded == value:
            break
        value = decoded
    return value


def _bad_param(pair: str) -> bool:
    if "@" in pair or _ENCODED_AT.search(pair) or "@" in _decode(pair):
        return True  # an address in the name or the value
    name = pair.partition("=")[0]
    return bool(FORM_FIELD_RE.search(_decode(name)))


def _scrub_params(text: str) -> str:
    return "&".join(p for p in text.split("&") if p and not _bad_param(p))


@lru_cache(maxsize=8192)
def scrub_url(url: str) -> str:
    """Scrub one URL (cached: the same page URLs repeat across a session's events)."""
    if len(url) > 4 * MAX_URL:
        url = url[: 4 * MAX_URL]
    if "?" not in url and "#" not in url and "@" not in url and "%" not in url:
        return url[:MAX_URL]
    rest, hash_mark, fragment = url.partition("#")
    base, q_mark, query = rest.partition("?")
    # Userinfo: scheme://user:pass@host/... -> scheme://host/...
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*@)", base)
    if m:
        base = m.group(1) + base[m.end() :]
    base = scrub_text(base)
    if q_mark:
        query = _scrub_params(query)
        base = base + ("?" + query if query else "")
    if hash_mark:
        if "@" in fragment or "@" in _decode(fragment):
            fragment = ""  # an address in the fragment: drop the fragment whole
        elif "=" in fragment:
            head, q2, params = fragment.partition("?")
            if q2:
                params = _scrub_params(params)
                fragment = scrub_text(head) + ("?" + params if params else "")
            else:
                fragment = _scrub_params(fragment)
        else:
            fragment = scrub_text(fragment)
        if fragment:
            base = base + "#" + fragment
    return base[:MAX_URL]
