"""Who is being forgotten: the selector as given, and every identifier it resolves to.

An email resolves to every lead and token minted for it (in the token registry and in the
landed lead rows), and through them to every visitor: visitors who arrived on one of the
tokens, visitors whose form carried the address's sha256 (linked to a lead or not), and
visitors the warehouse stitched to one of the leads (identity_map); on BigQuery the same
questions go to raw_leads, raw_events and identity_map there too. A token resolves to
the lead it was minted for and from there like its email. A visitor id is that visitor
only.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb

from oie_core.hashing import email_hashes, normalize_email
from oie_core.tokens import TOKEN_RE

_EMAIL_RE = re.compile(r"\A[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_VISITOR_RE = re.compile(r"\A[0-9A-Za-z_-]{8,64}\Z")  # the ingest function's id rule


class SelectorError(ValueError):
    """A malformed --email, --token or --visitor (the message names it)."""


@dataclass(frozen=True)
class Selector:
    kind: str  # email | token | visitor
    value: str

    @classmethod
    def parse(cls, email: str | None, token: str | None, visitor: str | None) -> Selector:
        given = [(k, v) for k, v in (("email", email), ("token", token), ("visitor", visitor))]
        chosen = [(k, v) for k, v in given if v is not None]
        if len(chosen) != 1:
            raise SelectorError("give exactly one of --email, --token or --visitor")
        kind, value = chosen[0]
        if kind == "email":
            value = normalize_email(value)
            if not _EMAIL_RE.match(value):
                raise SelectorError("--email is not an email address")
        elif kind == "token":
            value = value.strip()
            if not TOKEN_RE.match(value):
                raise SelectorError("--token is not a token (11 characters of 0-9, A-Z, a-z)")
        else:
            value = value.strip()
            if not _VISITOR_RE.match(value):
                raise SelectorError("--visitor is not a visitor id (8 to 64 of 0-9 A-Z a-z _ -)")
        return cls(kind, value)


@dataclass
class Person:
    """Every identifier of one person this installation holds."""

    selector: Selector
    emails: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    lead_ids: set[str] = field(default_factory=set)
    visitor_ids: set[str] = field(default_factory=set)

    def email_digests(self) -> set[str]:
        return {h for e in self.emails for h in email_hashes(e).values()}

    def needles(self) -> tuple[list[bytes], list[bytes]]:
        """(case-insensitive, exact) byte strings whose presence marks a record as theirs:
        addresses and their hashes in any case; tokens, lead ids and visitor ids exactly."""
        folded = sorted({s.lower().encode() for s in self.emails | self.email_digests()})
        exact = sorted({s.encode() for s in self.tokens | self.lead_ids | self.visitor_ids})
        return folded, exact

    def identifiers(self) -> list[tuple[str, str]]:
        """(tombstone kind, identifier) pairs."""
        return [
            *(("email", e) for e in sorted(self.emails)),
            *(("token", t) for t in sorted(self.tokens)),
            *(("lead", lead) for lead in sorted(self.lead_ids)),
            *(("visitor", v) for v in sorted(self.visitor_ids)),
        ]

    @property
    def empty(self) -> bool:
        return not (self.tokens or self.lead_ids or self.visitor_ids)


class RemoteLookup(Protocol):
    """Where else leads and visitors are held (BigQuery: oie/forget/bigquery.py)."""

    def leads_of(
        self, emails: Iterable[str], tokens: Iterable[str]
    ) -> set[tuple[str, str, str]]: ...

    def visitors_of(
        self, emails: Iterable[str], tokens: Iterable[str], lead_ids: Iterable[str]
    ) -> set[str]: ...


def resolve(
    selector: Selector,
    data_dir: Path,
    landing_dir: Path,
    warehouse: Path,
    remote: RemoteLookup | None = None,
) -> Person:
    person = Person(selector)
    if selector.kind == "visitor":
        person.visitor_ids.add(selector.value)
        return person
    if selector.kind == "email":
        person.emails.add(selector.value)
    else:
        person.tokens.add(selector.value)
    # Twice: a token finds its lead's address, and the address finds its other leads.
    for _ in range(2):
        leads = _leads_of(data_dir, landing_dir, person)
        if remote is not None:
            leads |= remote.leads_of(person.emails, person.tokens)
        for email, token, lead_id in leads:
            if email:
                person.emails.add(normalize_email(email))
            if token:
                person.tokens.add(token)
            if lead_id:
                person.lead_ids.add(lead_id)
    person.visitor_ids |= _visitors_of(landing_dir, warehouse, person)
    if remote is not None:
        person.visitor_ids |= remote.visitors_of(person.emails, person.tokens, person.lead_ids)
    return person


def _leads_of(data_dir: Path, landing_dir: Path, person: Person) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    registry = data_dir / "tokens.sqlite"
    if registry.exists():
        with closing(sqlite3.connect(f"file:{registry}?mode=ro", uri=True)) as db:
            emails, tokens = _marks(person.emails), _marks(person.tokens)
            rows = db.execute(
                "SELECT email, token, lead_id FROM tokens "
                f"WHERE email IN ({emails}) OR token IN ({tokens})",
                [*person.emails, *person.tokens],
            ).fetchall()
            found |= {(r[0], r[1], r[2]) for r in rows}
    pattern = landing_dir / "leads" / "*" / "*" / "*.ndjson"
    if _any(landing_dir / "leads"):
        sha = {email_hashes(e)["sha256"] for e in person.emails}
        with closing(duckdb.connect()) as db:
            rows = db.execute(
                "SELECT DISTINCT lower(trim(email)), token, lead_id FROM read_json(?, "
                "format='newline_delimited', columns={'email': 'VARCHAR', "
                "'email_sha256': 'VARCHAR', 'token': 'VARCHAR', 'lead_id': 'VARCHAR'}) "
                "WHERE lower(trim(email)) IN (SELECT unnest(?)) "
                "OR lower(email_sha256) IN (SELECT unnest(?)) OR token IN (SELECT unnest(?))",
                [str(pattern), sorted(person.emails), sorted(sha), sorted(person.tokens)],
            ).fetchall()
            found |= {(r[0] or "", r[1] or "", r[2] or "") for r in rows}
    return found


def _visitors_of(landing_dir: Path, warehouse: Path, person: Person) -> set[str]:
    visitors: set[str] = set()
    sha = sorted({email_hashes(e)["sha256"] for e in person.emails})
    if _any(landing_dir / "events"):
        pattern = landing_dir / "events" / "*" / "*" / "*.ndjson"
        with closing(duckdb.connect()) as db:
            rows = db.execute(
                "SELECT DISTINCT unnest([visitor_id, client_visitor_id]) FROM read_json(?, "
                "format='newline_delimited', columns={'visitor_id': 'VARCHAR', "
                "'client_visitor_id': 'VARCHAR', 'token': 'VARCHAR', 'data': 'JSON'}) "
                "WHERE token IN (SELECT unnest(?)) "
                "OR lower(json_extract_string(data, '$.hems.sha256')) IN (SELECT unnest(?))",
                [str(pattern), sorted(person.tokens), sha],
            ).fetchall()
            visitors |= {r[0] for r in rows if r[0]}
    if warehouse.exists() and person.lead_ids:
        with closing(duckdb.connect(str(warehouse), read_only=True)) as db:
            has_map = db.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'identity_map'"
            ).fetchone()
            if has_map and has_map[0]:
                rows = db.execute(
                    "SELECT DISTINCT identifier FROM identity_map WHERE identifier_type = "
                    "'visitor' AND lead_id IN (SELECT unnest(?))",
                    [sorted(person.lead_ids)],
                ).fetchall()
                visitors |= {r[0] for r in rows if r[0]}
    return visitors


def _any(folder: Path) -> bool:
    return folder.is_dir() and next(folder.glob("*/*/*.ndjson"), None) is not None


def _marks(values: Iterable[str]) -> str:
    return ",".join("?" for _ in values) or "NULL"
