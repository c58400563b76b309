"""dbt's parsed project, shared between data dirs (`OIE_DBT_PARSE_CACHE`).

dbt keeps its parse in `<target>/partial_parse.msgpack` and reuses it while nothing the
parse read has changed (project files, vars, the profile's connection settings, the
values of env_var() reads). A new data dir starts without one, and dbt parses the whole
project (≈ 6 s on the benchmark machine, more than the build of a small warehouse). Where
many data dirs share one checkout (CI, a test suite, a warehouse per tenant),
`OIE_DBT_PARSE_CACHE` names a folder that keeps the last parse per set of vars: it is
copied into a data dir's target before dbt starts, and copied back when dbt wrote a new one.

dbt checks whatever it is given, so a stale or torn copy costs a full parse, never a wrong
build. What dbt does not check is where the project was parsed from, so a data dir's own
parse, like a kept one, is used only from the project folder that wrote it. A copy is only
valid in another data dir because nothing in it names the data dir: dbt runs inside the
data dir with `OIE_DATA_DIR=.` (oie.warehouse.dbt_subprocess_env).

The folder does not grow without end: every change of vars, project folder or settings
keeps a parse of a few MB under a new key, so whenever a parse is kept, the ones no run has
used for UNUSED_DAYS (a use refreshes the file's time) are removed, with the temporary
copies a killed run left behind. A removed parse costs its next user one full parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

CACHE_ENV = "OIE_DBT_PARSE_CACHE"
PARSE_FILE = "partial_parse.msgpack"
# Beside a data dir's parse: the project folder it was parsed from.
PARSED_FROM_FILE = "partial_parse.project"
UNUSED_DAYS = 14
# A temporary copy older than this belongs to a run that died mid-copy (a copy of a few MB
# takes milliseconds): never one a live run is still writing.
ABANDONED_COPY_SECONDS = 3600

# Settings that change what dbt parses: the profile's connection (its values are part of
# dbt's parse checksum) and the env_var() reads in the sources and macros. A parse kept
# under one combination is never offered for another, so switching does not thrash the
# cache; a setting missing here only costs a re-parse, as dbt rejects the copy itself.
PARSE_INPUT_PREFIXES = ("OIE_TARGET", "OIE_DATA_DIR", "OIE_LANDING_DIR", "OIE_BQ_")
# A kept parse, and the temporary name _copy_atomically writes it under.
_KEPT_RE = re.compile(r"[0-9a-f]{32}\.msgpack")
_COPY_RE = re.compile(r"\.[0-9a-f]{32}\.msgpack\..+")


def option_value(args: Sequence[str], name: str) -> str | None:
    """The value of a dbt option (`--vars`, `--project-dir`) in an argument list."""
    arguments = list(args)
    return arguments[arguments.index(name) + 1] if name in arguments else None


def cache_key(args: Sequence[str], env: Mapping[str, str]) -> str:
    """Which kept parse fits this dbt invocation: its project, --vars and the parse's
    settings. The project folder is part of the key because dbt would accept another
    folder's parse of the same project (its check compares file contents, not where they
    are) and keep reading the unchanged files, seeds among them, from the other folder."""
    project = option_value(args, "--project-dir")
    settings = {k: v for k, v in sorted(env.items()) if k.startswith(PARSE_INPUT_PREFIXES)}
    blob = json.dumps(
        {"project": project, "vars": option_value(args, "--vars"), "settings": settings},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _copy_atomically(source: Path, destination: Path) -> None:
    """Readers see the old file or the new one, never half of it (both workers of a test
    run, or two tenants' runs, share the cache)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def keep_only_this_projects_parse(target: Path, project: str) -> None:
    """A data dir's own parse, like a kept one, fits only the project folder that wrote it.

    dbt would reuse it from another folder of the same project (a moved checkout, a second
    clone on the same data dir) and go on reading the unchanged files, seeds among them,
    from the first folder: once that folder is gone, every run fails with "No files found
    that match the pattern". Another folder's parse (or one from before this note was
    kept) is removed here, which costs one full parse."""
    note = target / PARSED_FROM_FILE
    try:
        parsed_from: str | None = note.read_text(encoding="utf-8")
    except OSError:
        parsed_from = None
    if parsed_from == project:
        return
    (target / PARSE_FILE).unlink(missing_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    note.write_text(project, encoding="utf-8")


@contextmanager
def shared_parse(args: Sequence[str], env: Mapping[str, str]) -> Iterator[None]:
    """Around one dbt subprocess: drop a data dir's parse of another project folder, offer
    the kept parse, keep the one dbt leaves behind."""
    root = env.get(CACHE_ENV, "").strip()
    target = env.get("DBT_TARGET_PATH")
    if target:
        keep_only_this_projects_parse(Path(target), option_value(args, "--project-dir") or "")
    if not root or not target:
        yield
        return
    folder = Path(root).expanduser()
    kept = folder / f"{cache_key(args, env)}.msgpack"
    local = Path(target) / PARSE_FILE
    try:
        _copy_atomically(kept, local)
    except FileNotFoundError:
        pass  # nothing kept for this key yet (or pruned a moment ago): dbt parses
    else:
        with suppress(OSError):  # a read-only cache is still read
            os.utime(kept)  # used: not one to prune
    offered = _stamp(local)
    yield
    if local.is_file() and _stamp(local) != offered:
        _copy_atomically(local, kept)
        prune(folder)


def prune(folder: Path) -> list[Path]:
    """Remove the kept parses no run has used for UNUSED_DAYS and the temporary copies of
    runs that died mid-copy; returns what was removed. Only this module's own names are
    touched: anything else in the folder stays."""
    now = time.time()
    removed = []
    for path in folder.iterdir():
        if _KEPT_RE.fullmatch(path.name):
            age = UNUSED_DAYS * 86400
        elif _COPY_RE.fullmatch(path.name):
            age = ABANDONED_COPY_SECONDS
        else:
            continue
        try:
            if now - path.stat().st_mtime > age:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            pass  # another run pruned it first
    return removed
