"""`oie campaign create` killed half-way, through the real entry point: nothing published,
the registry unchanged, and the next import mints what a clean import mints. A file of its
own so this slow import runs beside the others (the suite spreads files over its workers)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

from .conftest import Cli
from .test_campaign import create, landed_leads, read_csv


def test_import_killed_midway_leaves_nothing_half_done(cli: Cli, tmp_path: Path) -> None:
    """SIGKILL during an import: no published leads or URL file, registry unchanged; the
    next import cleans the dead temp file and mints exactly the tokens a clean run mints."""
    path = cli.cwd / "leads.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("email,first_name\n")
        fh.writelines(f"user{i}@example.com,U{i}\n" for i in range(200_000))
    proc = cli.popen(
        "campaign",
        "create",
        "leads.csv",
        "--campaign",
        "Q4 CFOs",
        "--landing-url",
        "https://acme.example/",
    )
    leads_dir = cli.data_dir / "landing" / "leads"
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size > 1_000_000 for p in leads_dir.glob("dt=*/hr=*/*.tmp")):
        assert proc.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(leads_dir.glob("dt=*/hr=*/*.ndjson.tmp"))  # left behind by the dead import
    assert not list(leads_dir.glob("dt=*/hr=*/*.ndjson"))
    assert not (cli.cwd / "q4-cfos-urls.csv").exists()
    db = sqlite3.connect(cli.data_dir / "tokens.sqlite")
    assert db.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    db.close()

    assert create(cli, "leads.csv").returncode == 0
    assert not list(leads_dir.glob("dt=*/hr=*/*.tmp"))  # the dead import's file is gone
    clean = Cli({**cli.env, "OIE_DATA_DIR": str(tmp_path / "clean")}, cli.cwd)
    (cli.cwd / "q4-cfos-urls.csv").rename(cli.cwd / "after-crash.csv")
    assert create(clean, "leads.csv").returncode == 0
    assert read_csv(cli.cwd / "after-crash.csv") == read_csv(cli.cwd / "q4-cfos-urls.csv")
    assert len(landed_leads(cli)) == 200_000
