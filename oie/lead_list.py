"""Reading a lead list: header matching for the common exporters, address checks, and a
streaming CSV reader that reports its byte position for progress bars.

One rule for a lead's id lives here too: `lead_id_for(campaign_id, email)`, the first 16
hex characters of sha256(`campaign_id|email`), so re-imports and generated traffic agree.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Canonical lead fields and the header spellings seen in Smartlead, Instantly, Apollo and
# HubSpot exports, compared after lowercasing and dropping spaces, '_', '-' and '.'.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "e-mail", "workemail", "businessemail", "mail"),
    "first_name": ("firstname", "first", "givenname", "fname"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "company": ("company", "companyname", "organization", "organisation", "account"),
    "title": ("title", "jobtitle", "position", "role"),
    "industry": ("industry", "companyindustry"),
}
LEAD_FIELDS = tuple(FIELD_ALIASES)

# Pragmatic address check after normalization: one @, no spaces or list separators,
# a dotted domain whose labels are non-empty. Deliverability is the ESP's job.
_EMAIL_RE = re.compile(
    r"^(?!\.)(?!.*\.\.)[^\s@\"(),:;<>\[\]\\]{1,64}(?<!\.)@"
    r"(?=.{1,253}$)(?:[^\s@\"(),:;<>\[\]\\.\-][^\s@\"(),:;<>\[\]\\.]*\.)+"
    r"[^\s@\"(),:;<>\[\]\\.\-0-9][^\s@\"(),:;<>\[\]\\.]+$"
)


class CampaignError(Exception):
    """A problem with the whole input (not one row): reported as one line, exit 2."""


@dataclass(frozen=True)
class Problem:
    line: int
    email: str
    reason: str


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def header_key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.strip().lower())


def match_headers(header: list[str]) -> dict[str, int]:
    """Map canonical field -> column index; the first matching column wins."""
    lookup = {
        alias.replace("-", ""): f for f, aliases in FIELD_ALIASES.items() for alias in aliases
    }
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        canonical = lookup.get(header_key(name))
        if canonical and canonical not in found:
            found[canonical] = index
    return found


def email_problem(email: str) -> str | None:
    if not email:
        return "invalid_email: empty"
    if not _EMAIL_RE.match(email):
        return "invalid_email: not an address"
    return None


def lead_id_for(campaign_id: str, email: str) -> str:
    return hashlib.sha256(f"{campaign_id}|{email}".encode()).hexdigest()[:16]


class _CountingRaw(io.RawIOBase):
    """Counts bytes read so the progress bar can follow a streaming CSV read."""

    def __init__(self, raw: io.FileIO) -> None:
        self.raw = raw
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self.raw.readinto(buffer) or 0
        self.position += n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_rows(
    path: Path, encoding: str, progress: Callable[[int], None] | None
) -> Iterator[tuple[list[str], dict[str, int], str] | tuple[int, list[str]]]:
    """Yield (header, field map, delimiter) once, then (start line, values) per record."""
    counting = _CountingRaw(io.FileIO(path, "r"))
    text = io.TextIOWrapper(io.BufferedReader(counting, 1 << 20), encoding=encoding, newline="")
    line_before = 0
    try:
        first = text.readline()
        if not first.strip():
            raise CampaignError(f"{path} is empty: expected a header row with an email column")
        delimiter = _sniff_delimiter(first)
        reader = csv.reader(_prepend(first, text), delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
        fields = match_headers(header)
        if "email" not in fields:
            raise CampaignError(
                f"{path} has no email column (looked for Email, E-mail, Email Address, "
                f"Work Email; found: {', '.join(header) or 'nothing'})"
            )
        yield header, fields, delimiter
        line_before = reader.line_num
        for values in reader:
            yield line_before + 1, values
            line_before = reader.line_num
            if progress is not None and line_before % 4096 == 0:
                progress(counting.position)
    except UnicodeDecodeError:
        raise CampaignError(
            f"{path} is not valid {encoding} (near line {line_before + 1}): re-export it as "
            f"UTF-8, or pass --encoding cp1252 (Excel on Windows) or --encoding latin-1"
        ) from None
    except csv.Error as exc:
        raise CampaignError(f"{path} line {line_before + 1}: unreadable CSV ({exc})") from None
    finally:
        if progress is not None:
            progress(counting.position)
        text.close()


def _prepend(first: str, rest: io.TextIOWrapper) -> Iterator[str]:
    yield first
    yield from rest
