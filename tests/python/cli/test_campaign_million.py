"""`oie campaign create` at scale through the real entry point: a million rows, correct and
in bounded memory. A file of its own because it is the suite's slowest test: the suite
spreads test files over its workers."""

from __future__ import annotations

import sqlite3
import sys

from .conftest import Cli
from .test_campaign import read_csv


def test_one_million_rows_streamed(cli: Cli) -> None:
    """1M leads with a duplicate and a bad row deep inside: correct, in bounded memory."""
    path = cli.cwd / "big.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("email,first_name,company\n")
        fh.writelines(f"user{i}@co{i % 997}.example,U{i},Co{i % 997}\n" for i in range(1_000_000))
        fh.write("user123456@co825.example,Dup,Co\n")  # line 1,000,002
        fh.write("broken-address,Bad,Co\n")  # line 1,000,003
    # Run through a tiny parent that reports its child's peak RSS (ours would mix in others).
    measure = (
        "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
    )
    proc = cli.wrapped(
        [sys.executable, "-c", measure],
        "campaign",
        "create",
        "big.csv",
        "--campaign",
        "Q4 CFOs",
        "--landing-url",
        "https://acme.example/",
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    peak_mb = int(proc.stdout.strip().splitlines()[-1]) / 1024
    # Bounded: the registry and the seen-set live in SQLite, not in Python sets.
    assert peak_mb < 300, peak_mb
    problems = read_csv(cli.cwd / "q4-cfos-problems.csv")
    assert [(p["line"], p["reason"]) for p in problems] == [
        ("1000002", "duplicate: same email as line 123458"),
        ("1000003", "invalid_email: not an address"),
    ]
    with open(cli.cwd / "q4-cfos-urls.csv", encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 1_000_001
    landed = list((cli.data_dir / "landing" / "leads").glob("dt=*/hr=*/*.ndjson"))
    assert sum(len(p.read_bytes().splitlines()) for p in landed) == 1_000_000
    db = sqlite3.connect(cli.data_dir / "tokens.sqlite")
    assert db.execute("SELECT count(*), count(DISTINCT token) FROM tokens").fetchone() == (
        1_000_000,
        1_000_000,
    )
