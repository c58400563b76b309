"""Server-side scrubbing of URLs and free text: no email address, no form value lands.

Rule (docs/ingest.md "Scrubbing"), applied to `url`, `referrer`, `click.href`, `video.src`:
- user:password@ in the authority is removed;
- a query parameter is dropped when its name or (percent-decoded until stable) value
  holds an `@`, or when its NAME looks like a form field (email, name, phone, address,
  password, message, ... see FORM_FIELD_RE) -- a GET form puts its values there;
- a fragment holding an `@` is dropped; `#/route?k=v` fragments get the parameter rule;
- an email address anywhere else (the path) is replaced by `[email]`;
- the result is cut at 2,048 characters.
Every other string the pixel sends (titles, click text, ids) gets the `[email]` replacement.

Mask first, then cut (`cut()`): a cut through an address leaves a fragment no mask
matches. Decoding is bounded: what is still percent-encoded after MAX_DECODE_ROUNDS
rounds is hostile, and is treated as holding an address.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus

# Local parts may use RFC 5322 specials, except the URL delimiters # & / = ? (an address
# holding those is still caught: any query parameter or fragment with an @ is dropped).
# Domains may be IDNs (\w is Unicode). The local part is capped at RFC 5321's 64 and the
# labels are possessive so a search stays linear on a hostile 64 KB run of word characters
# (unbounded, every start position re-read the whole run: seconds per string).
EMAIL_RE = re.compile(r"[\w.!$%'*+^`{|}~\-]{1,64}@[\w\-]++(?:\.[\w\-]++)+")
# Percent-encoded @ (%40) hides addresses from a plain search; decode before testing.
_ENCODED_AT = re.compile(r"%40", re.IGNORECASE)
# Matched against the REVERSED tail of a cut string (an anchored match stays linear, an
# end-anchored search does not): domain characters, an @ (plain, percent- or JSON-escaped),
# then the local part -- what is left of an address the cut went through.
_PARTIAL_TAIL_REVERSED = re.compile(
    r"[\w.%\\\-]*(?:@|04(?:52)*%|0400u\\+)[\w.!$%'*+^`{|}~\-]*", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|(["\\/bfnrt]))', re.IGNORECASE)
_JSON_SIMPLE = dict(zip('"\\/bfnrtBFNRT', '"\\/\b\f\n\r\t\b\f\n\r\t', strict=True))
# Runs between URL/text delimiters: what a hostile (still encoded) value is masked by.
_TOKEN = re.compile(r"[^\s/?#&=]+")
MAX_DECODE_ROUNDS = 10
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
    """Replace email addresses in free text (also percent-encoded ones)."""
    if "@" not in value and "%" not in value:
        return value
    value = EMAIL_RE.sub(EMAIL_MASK, value)
    if "%" in value:
        decoded = _decode(value)
        if decoded is None:
            return _mask_tokens(value, "%")
        if EMAIL_RE.search(decoded):
            # The decoded text is kept (masked) only when it hid an address: else as sent.
            value = EMAIL_RE.sub(EMAIL_MASK, decoded)
    return value


def scrub_json_text(value: str) -> str:
    """Raw JSON text (a body answered 400), masked like free text and also read through
    its escapes (`c\\u0040x.test`), decoded until stable: when the decoded text holds an
    address, the decoded text is what is kept (masked); otherwise the text as sent."""
    value = scrub_text(value)
    if "\\" not in value:
        return value
    decoded = value
    for _ in range(MAX_DECODE_ROUNDS):
        step = _json_unescape(decoded)
        if step == decoded:
            break
        decoded = step
    else:
        if _json_unescape(decoded) != decoded:
            return _mask_tokens(value, "\\")  # escapes nested this deep: hostile
    masked = scrub_text(decoded)
    return masked if masked != decoded else value


def cut(value: str, limit: int) -> str:
    """`value[:limit]`, less the end of an address the cut went through: a fragment like
    `c25@leakcheck.` is no address the mask matches, but still names one."""
    if len(value) <= limit:
        return value
    value = value[:limit]
    if "@" in value or "%" in value or "\\" in value:
        m = _PARTIAL_TAIL_REVERSED.match(value[::-1])
        if m:
            value = value[: limit - m.end()]
    return value


def _decode(value: str) -> str | None:
    """Percent-decode until stable: `%2540` hides an `@` behind double encoding, and a
    sender can nest deeper. None when it still changes after MAX_DECODE_ROUNDS rounds."""
    for _ in range(MAX_DECODE_ROUNDS):
        if "%" not in value and "+" not in value:
            return value
        decoded = unquote_plus(value)
        if decoded == value:
            return value
        # A decoded control character would split an address the mask then misses.
        value = _CONTROL.sub("", decoded) if _CONTROL.search(decoded) else decoded
    return value if unquote_plus(value) == value else None


def _json_unescape(value: str) -> str:
    out = _JSON_ESCAPE.sub(_json_char, value)
    if _SURROGATE.search(out):
        # Escaped pairs join into one character; a lone half becomes U+FFFD.
        out = out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL.sub("", out)


def _json_char(m: re.Match[str]) -> str:
    code = m.group(1)
    return chr(int(code, 16)) if code else _JSON_SIMPLE[m.group(2)]


def _mask_tokens(value: str, marker: str) -> str:
    """Hostile nesting (still encoded after MAX_DECODE_ROUNDS): every run holding the
    escape character is masked whole, as if it held an address."""
    return _TOKEN.sub(lambda m: EMAIL_MASK if marker in m.group() else m.group(), value)


def _bad_param(pair: str) -> bool:
    if "@" in pair or _ENCODED_AT.search(pair):
        return True  # an address in the name or the value
    decoded = _decode(pair)
    if decoded is None or "@" in decoded:
        return True
    name = _decode(pair.partition("=")[0])
    return name is None or bool(FORM_FIELD_RE.search(name))


def _scrub_params(text: str) -> str:
    return "&".join(p for p in text.split("&") if p and not _bad_param(p))


@lru_cache(maxsize=8192)
def scrub_url(url: str) -> str:
    """Scrub one URL (cached: the same page URLs repeat across a session's events)."""
    if len(url) > 4 * MAX_URL:
        url = cut(url, 4 * MAX_URL)
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
        decoded = _decode(fragment)
        if "@" in fragment or decoded is None or "@" in decoded:
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
    return cut(base, MAX_URL)
