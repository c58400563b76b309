"""A re-import that changes a lead's fields changes the lead in the warehouse.

A changed lead lands again with its first import's created_at and token (test_campaign.py),
so only raw_leads.imported_at tells the two rows apart: before it existed the warehouse
picked either row, and about half of the renamed leads kept their old names. Real `oie
campaign create` and `oie run` (dbt on DuckDB), three imports and two runs.
"""

from __future__ import annotations

import duckdb

from .conftest import Cli
from .test_campaign import HEADER, create, landed_leads, write

LEADS = 200  # enough that a coin-flip pick fails every time: 0.5 ** 200


def names(cli: Cli, model: str) -> dict[str, str]:
    con = duckdb.connect(str(cli.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return dict(con.execute(f"select email, first_name from {model}").fetchall())
    finally:
        con.close()


def lead_list(first_name: str) -> str:
    rows = (f"lead{i}@example.com,{first_name}{i},L{i},Co{i},CFO,SaaS,\n" for i in range(LEADS))
    return HEADER + "".join(rows)


def test_the_latest_import_of_a_lead_is_the_lead(cli: Cli) -> None:
    write(cli, "leads.csv", lead_list("Old"))
    assert create(cli, "leads.csv").returncode == 0
    write(cli, "leads.csv", lead_list("New"))
    assert create(cli, "leads.csv").returncode == 0
    rows = landed_leads(cli)
    assert len(rows) == 2 * LEADS
    assert all(r["imported_at"] >= r["created_at"] for r in rows)
    run = cli("run")
    assert run.returncode == 0, run.stdout + run.stderr
    want = {f"lead{i}@example.com": f"New{i}" for i in range(LEADS)}
    assert names(cli, "stg_oie__leads") == want
    assert names(cli, "lead_profiles") == want

    # A third import renames half of them back; the next scheduled run follows.
    text = lead_list("New").replace(",New1", ",Back1")  # lead1, lead10..19, lead100..199
    write(cli, "leads.csv", text)
    assert create(cli, "leads.csv").returncode == 0
    run = cli("run")
    assert run.returncode == 0, run.stdout + run.stderr
    back = {e: "Back" + n[3:] if n.startswith("New1") else n for e, n in want.items()}
    assert sum(n.startswith("Back") for n in back.values()) == 111
    assert names(cli, "lead_profiles") == back
