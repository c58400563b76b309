"""Finding a person in every store: the scan the forget tests run before (it must find
them, or it proves nothing) and after an erasure (it must find nothing)."""

from __future__ import annotations

import csv
import sqlite3
import time
import uuid
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb

from oie_core.hashing import email_hashes, normalize_email
from oie_core.landing import LandingWriter, iso_ms
from tests.python.cli.conftest import Cli

# dbt's parsed project quotes the project's own YAML, whose unit tests use the design
# document's test vector (a fictional address): a hit there comes from the project text.
PARSED_PROJECT = (
    "manifest.json",
    "partial_parse.msgpack",
    "semantic_manifest.json",
    "graph.gpickle",
)


@dataclass(frozen=True)
class Needle:
    label: str
    value: str
    folded: bool  # matched in any case (addresses and hex digests)


def needles_for(
    email: str, tokens: Iterable[str], visitors: Iterable[str], lead_ids: Iterable[str]
) -> list[Needle]:
    normalized = normalize_email(email)
    out = [Needle("email", normalized, True)]
    out += [Needle(f"email {name}", digest, True) for name, digest in email_hashes(email).items()]
    out += [Needle("token", t, False) for t in tokens]
    out += [Needle("visitor", v, False) for v in visitors]
    out += [Needle("lead_id", lead, False) for lead in lead_ids]
    return out


def _hit(text: bytes, needle: Needle) -> bool:
    if needle.folded:
        return needle.value.lower().encode() in text.lower()
    return needle.value.encode() in text


def scan_files(roots: Iterable[Path], needles: list[Needle]) -> list[str]:
    """`path: label` for every file (as bytes) under the roots that holds a needle; dbt's
    parsed-project files are left to `project_text_hits`."""
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.name in PARSED_PROJECT:
                continue
            data = path.read_bytes()
            hits += [f"{path}: {n.label}" for n in needles if _hit(data, n)]
    return hits


def scan_tables(data_dir: Path, needles: list[Needle]) -> list[str]:
    """`file table: label` for every table row of every DuckDB and SQLite file that holds
    a needle (read through the engines: a column store need not keep text as bytes)."""
    hits: list[str] = []
    for path in sorted(data_dir.glob("*.duckdb")):
        with closing(duckdb.connect(str(path), read_only=True)) as db:
            tables = db.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE'"
            ).fetchall()
            for schema, table in tables:
                rows = db.execute(f'select * from "{schema}"."{table}"').fetchall()
                text = "\n".join(repr(r) for r in rows).encode()
                hits += [
                    f"{path.name} {schema}.{table}: {n.label}" for n in needles if _hit(text, n)
                ]
    for path in sorted(data_dir.glob("*.sqlite")):
        with closing(sqlite3.connect(path)) as db:
            tables = [
                r[0] for r in db.execute("select name from sqlite_master where type = 'table'")
            ]
            for table in tables:
                rows = db.execute(f'select * from "{table}"').fetchall()
                text = "\n".join(repr(r) for r in rows).encode()
                hits += [f"{path.name} {table}: {n.label}" for n in needles if _hit(text, n)]
    return hits


def project_text_hits(data_dir: Path, needles: list[Needle], project: Path) -> list[str]:
    """Hits in dbt's parsed-project files that do NOT come from the project's own YAML."""
    yaml_text = b"".join(p.read_bytes() for p in project.glob("models/**/*.yml"))
    hits = []
    for path in sorted(data_dir.rglob("*")):
        if path.name in PARSED_PROJECT and path.is_file():
            data = path.read_bytes()
            hits += [
                f"{path}: {n.label}" for n in needles if _hit(data, n) and not _hit(yaml_text, n)
            ]
    return hits


def import_leads(cli: Cli, *emails: str) -> dict[str, str]:
    """`oie campaign create` of a list of these addresses (campaign Q4) in the CLI's work
    folder; each normalized address's token, read from the links file it wrote."""
    (cli.cwd / "leads.csv").write_text("email\n" + "".join(f"{e}\n" for e in emails))
    made = cli("campaign", "create", "leads.csv", "-c", "Q4", "--landing-url", "https://a.example/")
    assert made.returncode == 0, made.stderr
    return tokens_from_links(cli.cwd / "q4-urls.csv")


def tokens_from_links(urls_csv: Path) -> dict[str, str]:
    """Normalized address -> token, from the links file `oie campaign create` writes."""
    with urls_csv.open() as fh:
        return {
            normalize_email(row["email"]): row["tracking_url"][-11:] for row in csv.DictReader(fh)
        }


def land_events(data_dir: Path, *events: dict) -> None:
    """Pageviews landed (and sealed) now, as the ingest server would have: each dict gives
    the fields that matter to the test (visitor_id, token, ...)."""
    now = time.time()
    writer = LandingWriter(data_dir / "landing", background_rotation=False)
    writer.write_records(
        "events",
        [
            {
                "event_id": str(uuid.uuid4()),
                "type": "pageview",
                "received_at": iso_ms(now),
                "event_at": iso_ms(now),
                **event,
            }
            for event in events
        ],
        now,
    )
    writer.close()
