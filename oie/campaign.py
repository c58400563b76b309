"""`oie campaign create`: a lead list in, tracking links and `raw_leads` rows out.

The file is streamed in chunks so 10M rows run in bounded memory: every per-lead fact that
must outlive a chunk (which emails this import has seen, which tokens exist) lives in the
token registry, a SQLite file at $OIE_DATA_DIR/tokens.sqlite, not in Python sets.

Crash safety, in this order: mint inside one SQLite transaction, write the leads landing
file and the URL file under temporary names, rename them into place, then commit. A crash
before the commit leaves the registry untouched, so the next import mints the very same
tokens again (deterministic HMAC, same collision state) and the warehouse keeps the
latest row per lead_id: nothing is lost and nothing changes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from oie.lead_list import (
    LEAD_FIELDS,
    CampaignError,
    Problem,
    email_problem,
    header_key,
    lead_id_for,
    read_rows,
    slugify,
)
from oie.token_registry import TokenRegistry
from oie_core import tokens
from oie_core.hashing import email_sha256, normalize_email

CHUNK_ROWS = 20_000
MAX_PROBLEMS_SHOWN = 10


@dataclass
class CampaignResult:
    campaign_id: str
    campaign_name: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    invalid: int = 0
    collisions: int = 0
    urls_path: Path | None = None
    problems_path: Path | None = None
    landing_path: Path | None = None
    first_problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.new + self.updated + self.unchanged


def check_landing_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CampaignError(f"--landing-url must be an absolute http(s) URL, got {url!r}")
    return url.strip()


def tracking_url(landing_url: str, token: str, tracking_base: str | None) -> str:
    """`{base}/go?i=TOKEN&to=<path>` via the collector, else the landing URL with ?i=TOKEN."""
    prefix, suffix = url_template(landing_url, tracking_base)
    return prefix + token + suffix


def url_template(landing_url: str, tracking_base: str | None) -> tuple[str, str]:
    """(prefix, suffix) around the token: built once per import, not once per lead."""
    parts = urlsplit(landing_url)
    if tracking_base:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return f"{tracking_base.rstrip('/')}/go?i=", f"&to={quote(path, safe='/')}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "i"]
    marker = "TOKEN0000000"
    query.append(("i", marker))
    url = urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment)
    )
    prefix, _, suffix = url.partition(marker)
    return prefix, suffix


def iso_ms(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


# --------------------------------------------------------------------------- files


class AtomicFile:
    """A text file written under a temporary name and renamed into place on `publish`."""

    def __init__(self, final: Path, temp_suffix: str = ".tmp") -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        self.final = final
        self.temp = final.with_name(final.name + temp_suffix)
        self.handle = open(self.temp, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.lines = 0

    def publish(self) -> Path:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temp, self.final)
        return self.final

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.temp.unlink(missing_ok=True)


def leads_landing_path(landing_dir: Path, moment: datetime) -> Path:
    when = moment.astimezone(UTC)
    name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}.ndjson"
    return landing_dir / "leads" / f"dt={when:%Y-%m-%d}" / f"hr={when:%H}" / name


def remove_dead_temp_files(landing_dir: Path) -> int:
    """Delete `.ndjson.tmp` leads files of imports that died on this host before their
    commit. Their registry transaction rolled back, so the next import writes those leads
    again: the temp file is garbage that no reader would ever see (dbt reads `*.ndjson`)."""
    host = socket.gethostname()
    removed = 0
    for path in landing_dir.glob("leads/dt=*/hr=*/*.ndjson.tmp"):
        owner, sep, rest = path.name.removeprefix(host + "-").partition("-")
        if not sep or not path.name.startswith(host + "-") or not owner.isdigit() or not rest:
            continue
        try:
            os.kill(int(owner), 0)
            continue  # that import is still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, owned by someone else
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def create_campaign(
    csv_path: Path,
    campaign_name: str,
    landing_url: str,
    *,
    keyring: tokens.Keyring,
    data_dir: Path,
    landing_dir: Path,
    out_path: Path | None = None,
    tracking_base: str | None = None,
    encoding: str = "utf-8-sig",
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    leads_sink: Callable[[Path], None] | None = None,
    forgotten: Callable[[str], bool] | None = None,
) -> CampaignResult:
    """Import one lead list. `leads_sink`, when given, receives the finished NDJSON file
    (e.g. a BigQuery load job) instead of it being published to the landing folder.
    `forgotten` says whether a normalized address was erased (`oie forget`): such a row is
    skipped with reason `forgotten` and its address is not written anywhere."""
    campaign_id = slugify(campaign_name)
    if not campaign_id:
        raise CampaignError(f"--campaign {campaign_name!r} has no letters or digits to name it by")
    landing_url = check_landing_url(landing_url)
    if tracking_base is not None:
        check_landing_url(tracking_base)
    if csv_path.is_dir():
        raise CampaignError(f"{csv_path}: is a directory, not a CSV file")
    if not csv_path.is_file():
        raise CampaignError(f"{csv_path}: no such file")
    moment = now or datetime.now(UTC)
    out_path = out_path or Path.cwd() / f"{campaign_id}-urls.csv"
    problems_path = out_path.with_name(out_path.name.removesuffix("-urls.csv") + "-problems.csv")
    if problems_path == out_path:
        problems_path = out_path.with_suffix(".problems.csv")

    remove_dead_temp_files(landing_dir)
    rows = read_rows(csv_path, encoding, progress)
    try:
        header, fields, _delimiter = next(rows)  # type: ignore[misc]
    except BaseException:
        rows.close()  # type: ignore[attr-defined]
        raise
    job = _Import(
        header,
        fields,
        campaign_id,
        campaign_name.strip(),
        keyring,
        TokenRegistry(data_dir / "tokens.sqlite"),
        iso_ms(moment),
        url_template(landing_url, tracking_base),
        AtomicFile(out_path),
        AtomicFile(leads_landing_path(landing_dir, moment), ".tmp"),
        AtomicFile(problems_path),
        forgotten,
    )
    try:
        job.begin()
        for line, values in rows:  # type: ignore[misc]
            job.add(line, values)
        job.flush()
        if job.result.rows == 0:
            raise CampaignError(f"{csv_path} has a header but no lead rows")
        job.finish(landing_url, tracking_base, leads_sink)
    finally:
        job.abort_unless_committed()
        rows.close()  # type: ignore[attr-defined]
    return job.result


# A reused encoder: json.dumps with options builds a new encoder per call (slow at 10M).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class _Import:
    """One import's state: chunk buffer, registry transaction and output files."""

    def __init__(
        self,
        header: list[str],
        fields: dict[str, int],
        campaign_id: str,
        campaign_name: str,
        keyring: tokens.Keyring,
        registry: TokenRegistry,
        stamp: str,
        url_parts: tuple[str, str],
        urls: AtomicFile,
        leads: AtomicFile,
        problems: AtomicFile,
        forgotten: Callable[[str], bool] | None = None,
    ) -> None:
        self.header = header
        self.forgotten = forgotten
        self.width = len(header)
        self.email_col = fields["email"]
        self.field_cols = [(f, fields.get(f)) for f in LEAD_FIELDS if f != "email"]
        self.extra_cols = [(i, n) for i, n in enumerate(header) if i not in fields.values() and n]
        self.campaign_id = campaign_id
        self.keyring = keyring
        self.registry = registry
        self.db = registry.db
        self.stamp = stamp
        self.url_prefix, self.url_suffix = url_parts
        self.urls, self.leads, self.problems = urls, leads, problems
        self.result = CampaignResult(campaign_id=campaign_id, campaign_name=campaign_name)
        self.chunk: list[tuple[int, str, list[str]]] = []
        self.pending: list[Problem] = []
        self.committed = False
        self.urls_writer = csv.writer(urls.handle, lineterminator="\n")
        self.problems_writer = csv.writer(problems.handle, lineterminator="\n")
        self.problems_writer.writerow(["line", "email", "reason"])
        self.url_col = next(
            (i for i, h in enumerate(header) if header_key(h) == "trackingurl"), None
        )
        self.urls_writer.writerow(header if self.url_col is not None else [*header, "tracking_url"])

    def begin(self) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS seen (email TEXT PRIMARY KEY, line INT)")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS chunk (k TEXT PRIMARY KEY, line INT)")
        db.execute("DELETE FROM temp.seen")

    def add(self, line: int, values: list[str]) -> None:
        if not "".join(values).strip():
            return  # a blank line is not a lead: skipped, as csv skips empty lines
        result = self.result
        result.rows += 1
        width = self.width
        if len(values) != width:
            if len(values) > width and "".join(values[width:]).strip():
                result.invalid += 1
                self.pending.append(
                    Problem(line, "", f"bad_row: {len(values)} fields, header has {width}")
                )
                return
            values = (values + [""] * width)[:width]
        raw = values[self.email_col]
        email = normalize_email(raw)
        problem = email_problem(email)
        if problem is not None:
            result.invalid += 1
            self.pending.append(Problem(line, raw.strip(), problem))
            return
        if self.forgotten is not None and self.forgotten(email):
            result.invalid += 1
            self.pending.append(Problem(line, "", "forgotten: this person asked to be erased"))
            return
        self.chunk.append((line, email, values))
        if len(self.chunk) >= CHUNK_ROWS:
            self.flush()

    def report(self, problems: list[Problem]) -> None:
        # Line order within a chunk: parse-time problems and duplicates interleave.
        for p in sorted(problems, key=lambda p: p.line):
            self.problems_writer.writerow([p.line, p.email, p.reason])
            if len(self.result.first_problems) < MAX_PROBLEMS_SHOWN:
                self.result.first_problems.append(p)

    def flush(self) -> None:
        """Dedupe, look up and mint one chunk with a handful of set-based SQL statements."""
        chunk, self.chunk = self.chunk, []
        problems, self.pending = self.pending, []
        db, result, campaign_id = self.db, self.result, self.campaign_id
        first_line: dict[str, int] = {}
        unique: list[tuple[int, str, list[str]]] = []
        for row in chunk:
            line, email, _ = row
            if email in first_line:
                result.duplicates += 1
                problems.append(
                    Problem(line, email, f"duplicate: same email as line {first_line[email]}")
                )
            else:
                first_line[email] = line
                unique.append(row)
        # Duplicates of earlier chunks, and this campaign's leads already in the registry.
        db.execute("DELETE FROM temp.chunk")
        db.executemany("INSERT INTO temp.chunk VALUES (?, ?)", [(e, n) for n, e, _ in unique])
        earlier = dict(
            db.execute("SELECT c.k, s.line FROM temp.chunk c JOIN temp.seen s ON s.email = c.k")
        )
        existing = {
            email: (token, row_hash, created_at)
            for email, token, row_hash, created_at in db.execute(
                "SELECT c.k, t.token, t.row_hash, t.created_at FROM temp.chunk c "
                "JOIN tokens t ON t.campaign_id = ? AND t.email = c.k",
                (campaign_id,),
            )
        }
        db.execute("INSERT OR IGNORE INTO temp.seen SELECT k, line FROM temp.chunk")

        # Tokens the fresh leads would take at counter 0, and which of those are held.
        keyring = self.keyring
        first_choice = {
            email: tokens.candidate(keyring, campaign_id, email)
            for _, email, _ in unique
            if email not in earlier and email not in existing
        }
        db.execute("DELETE FROM temp.chunk")
        db.executemany(
            "INSERT OR IGNORE INTO temp.chunk VALUES (?, 0)", [(t,) for t in first_choice.values()]
        )
        taken = dict(
            db.execute(
                "SELECT t.token, t.campaign_id || '|' || t.email FROM temp.chunk c "
                "JOIN tokens t ON t.token = c.k"
            )
        )
        checked_free = set(first_choice.values()) - set(taken)
        minted_now: dict[str, str] = {}
        registry = self.registry

        def owner_of(token: str) -> str | None:
            if token in minted_now:
                return minted_now[token]
            if token in taken:
                return taken[token]
            if token in checked_free:
                return None
            return registry.owner_of(token)

        inserts: list[tuple[str, str, str, str, str, str]] = []
        updates: list[tuple[str, str]] = []
        write_lead = self.leads.handle.write
        write_url = self.urls_writer.writerow
        encode = _JSON.encode
        prefix, suffix, url_col = self.url_prefix, self.url_suffix, self.url_col
        field_cols, extra_cols = self.field_cols, self.extra_cols
        campaign_name, stamp = result.campaign_name, self.stamp
        imported_at = f",{encode('imported_at')}:{encode(stamp)}}}"  # the record's last key
        for line, email, values in unique:
            if email in earlier:
                result.duplicates += 1
                problems.append(
                    Problem(line, email, f"duplicate: same email as line {earlier[email]}")
                )
                continue
            known = existing.get(email)
            if known:
                token, old_hash, created_at = known
            else:
                token = first_choice[email]
                if owner_of(token) is not None:
                    # Taken by another lead: the collision rule (next counter) lives in mint().
                    token = tokens.mint(keyring, campaign_id, email, owner_of)
                    result.collisions += 1
                minted_now[token] = f"{campaign_id}|{email}"
                created_at, old_hash = stamp, ""
            lead_id = lead_id_for(campaign_id, email)
            record: dict[str, object] = {
                "lead_id": lead_id,
                "email": email,
                "email_sha256": email_sha256(email),
            }
            for name, col in field_cols:
                record[name] = (values[col].strip() or None) if col is not None else None
            record["campaign_id"] = campaign_id
            record["campaign_name"] = campaign_name
            record["token"] = token
            record["created_at"] = created_at
            record["attributes"] = {
                n: values[i].strip() for i, n in extra_cols if values[i].strip()
            }
            # The hash is the lead's content, not when it was imported: an unchanged row
            # stays unchanged (and registries written before imported_at stay valid).
            text = encode(record)
            row_hash = hashlib.sha256(text.encode()).hexdigest()[:32]
            if not known:
                result.new += 1
                inserts.append((token, campaign_id, email, lead_id, row_hash, created_at))
            elif row_hash != old_hash:
                result.updated += 1
                updates.append((row_hash, token))
            else:
                result.unchanged += 1
            if not known or row_hash != old_hash:
                write_lead(text[:-1] + imported_at + "\n")
                self.leads.lines += 1
            if url_col is None:
                write_url([*values, prefix + token + suffix])
            else:
                values[url_col] = prefix + token + suffix
                write_url(values)
        db.executemany("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)", inserts)
        db.executemany("UPDATE tokens SET row_hash = ? WHERE token = ?", updates)
        self.report(problems)

    def finish(
        self,
        landing_url: str,
        tracking_base: str | None,
        leads_sink: Callable[[Path], None] | None,
    ) -> None:
        result = self.result
        self.db.execute(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE "
            "SET campaign_name = excluded.campaign_name, landing_url = excluded.landing_url, "
            "tracking_base = excluded.tracking_base, updated_at = excluded.updated_at",
            (
                self.campaign_id,
                result.campaign_name,
                landing_url,
                tracking_base,
                self.stamp,
                self.stamp,
            ),
        )
        # Publish the files first, then commit: see the module docstring.
        if self.leads.lines:
            if leads_sink is not None:
                self.leads.handle.close()
                leads_sink(self.leads.temp)
                self.leads.discard()
            else:
                result.landing_path = self.leads.publish()
        else:
            self.leads.discard()
        result.urls_path = self.urls.publish()
        if result.duplicates or result.invalid:
            result.problems_path = self.problems.publish()
        else:
            self.problems.discard()
        self.db.execute("COMMIT")
        self.committed = True

    def abort_unless_committed(self) -> None:
        try:
            if not self.committed:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                for f in (self.urls, self.leads, self.problems):
                    f.discard()
        finally:
            self.registry.close()
