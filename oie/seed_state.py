"""What `oie run` knows of the seeds a data dir's builds loaded: the sha256 of every seed CSV
at the last successful whole build (a changed seed makes the next build a full refresh, so a
reclassification reaches history) and where that build loaded them (while the same files
are still there, a scheduled build leaves them out). docs/cli.md, `oie run`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from oie_core.settings import Settings

SEEDS_CHECKSUM_FILE = "dbt/seeds.sha256"
# Where the seeds those checksums describe were loaded (seeds_home).
SEEDS_HOME_FILE = "dbt/seeds.home"
# What a scheduled build adds while the seeds are in place; dbt leaves out their tests too.
SEEDS_UNCHANGED_ARGS: tuple[str, ...] = ("--exclude", "resource_type:seed")


def seed_checksums(project_dir: Path | None = None) -> dict[str, str]:
    """sha256 of every seed CSV, by its path in the project (`seeds/page_classes.csv`)."""
    from oie import warehouse

    root = project_dir or warehouse.PROJECT_DIR
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / "seeds").rglob("*.csv"))
    }


def seeds_checksum_path(data_dir: Path) -> Path:
    return data_dir / SEEDS_CHECKSUM_FILE


def read_seed_checksums(data_dir: Path) -> dict[str, str] | None:
    """The seed checksums of the last successful full build; None before the first one."""
    try:
        text = seeds_checksum_path(data_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    sums = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if digest and name:
            sums[name] = digest
    return sums


def write_seed_checksums(data_dir: Path, sums: dict[str, str]) -> None:
    """`sha256sum` format, written under a temporary name and renamed into place."""
    path = seeds_checksum_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())), encoding="utf-8")
    os.replace(tmp, path)


def seeds_home(settings: Settings) -> str:
    """Where this data dir's builds load the seeds: its warehouse file, or a BigQuery dataset
    (named as profiles.yml names it)."""
    if settings.target == "bigquery":
        return f"bigquery {settings.bq_project or 'unset-project'}.{settings.bq_dataset or 'oie'}"
    return "local warehouse.duckdb"


def write_seeds_home(data_dir: Path, home: str) -> None:
    path = data_dir / SEEDS_HOME_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(home + "\n", encoding="utf-8")
    os.replace(tmp, path)


def seeds_in_place(settings: Settings, before: dict[str, str] | None, now: dict[str, str]) -> bool:
    """Whether a scheduled build may leave the seeds out: the last successful whole build
    loaded these very files where this build writes, and a local warehouse still holds each
    seed's table. Their data tests passed on that load and would read the same rows; a
    reload would cost the run a load and those tests (on BigQuery, a load job per seed
    against the table's daily modification limit), for nothing."""
    if before is None or changed_seeds(before, now):
        return False
    try:
        home = (settings.data_dir / SEEDS_HOME_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    if home != seeds_home(settings):
        return False
    if settings.target == "bigquery":
        return True
    return _seed_tables_present(settings.data_dir, {Path(name).stem for name in now})


def _seed_tables_present(data_dir: Path, names: set[str]) -> bool:
    """Each seed's table is in the local warehouse (read-only; any doubt reloads them)."""
    import duckdb

    from oie import warehouse

    try:
        with warehouse.connect_readonly(data_dir, wait_s=0) as con:
            rows = con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'"
            ).fetchall()
    except (warehouse.WarehouseError, duckdb.Error):  # no warehouse, or one being written
        return False
    return names <= {name for (name,) in rows}


def changed_seeds(before: dict[str, str] | None, now: dict[str, str]) -> list[str]:
    """Seed files added, removed or edited since `before` (none when there is no `before`)."""
    if before is None:
        return []
    return sorted(n for n in before.keys() | now.keys() if before.get(n) != now.get(n))
