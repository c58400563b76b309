"""`oie demo`: the README's main command, from nothing to hot leads through the real
collector (and `--sample`, the offline variant)."""

from __future__ import annotations

import json

import duckdb

from .conftest import Cli


def test_demo_from_nothing(cli: Cli) -> None:
    proc = cli("demo", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for needle in (
        "[2/5] campaign",
        "[3/5] simulating",
        "[4/5] oie run",
        "Hottest leads",
        "Campaign performance",
        "Companies reading the site",
        "Done in",
        "oie serve",
    ):
        assert needle in out, out
    demo_dir = cli.data_dir / "demo"
    # The demo ends with the intent report (`oie report`) and prints where it is.
    assert f"intent report: {demo_dir / 'report.html'}" in out.replace("\n", ""), out
    assert "Hot now" in (demo_dir / "report.html").read_text()
    con = duckdb.connect(str(demo_dir / "warehouse.duckdb"), read_only=True)
    try:
        levels = dict(
            con.execute(
                "select engagement_level, count(*) from lead_profiles group by 1"
            ).fetchall()
        )
        clicked, forms = con.execute(
            "select leads_clicked, leads_submitted_form from campaign_performance"
        ).fetchone()
        # Every company of the list reads from its own network (the demo's database):
        # company_activity names them, and the simulator's consumer ISP, mobile carrier and
        # cloud never count as a company.
        companies = dict(con.execute("select org, matched_leads from company_activity").fetchall())
        classes = dict(
            con.execute(
                "select network_org, network_class from int_networks "
                "where network_org like 'Example %'"
            ).fetchall()
        )
        matched = con.execute(
            "select count(*) from lead_profiles where company_match = 'domain'"
        ).fetchone()[0]
    finally:
        con.close()
    # The bundled list: 400 distinct leads plus one duplicate and one broken address.
    assert sum(levels.values()) == 400
    assert levels.get("hot", 0) + levels.get("burning", 0) > 0, levels
    assert levels.get("cold", 0) > 0, levels
    assert clicked > 0 and forms > 0
    assert len(companies) >= 10 and not any(org.startswith("Example ") for org in companies)
    assert sum(companies.values()) == matched > 0
    assert classes["Example Broadband"] == "isp" and classes["Example Mobile"] == "mobile"
    assert classes["Example Cloud Hosting"] == "hosting"  # the crawlers' cloud
    assert "1 duplicate and 1 invalid rows dropped" in out
    # Everything stayed inside the demo folder: the caller's warehouse is untouched.
    assert not (cli.data_dir / "warehouse.duckdb").exists()
    assert not (cli.data_dir / "landing").exists()
    check_leads_command(cli)


def test_demo_sample_offline(cli: Cli) -> None:
    """The lead's bundled-sample path, kept as `--sample`: no server, no campaign import."""
    proc = cli("demo", "--sample", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Hottest leads" in proc.stdout and "Campaign performance" in proc.stdout
    assert "[1/5]" not in proc.stdout  # not the live demo
    assert not (cli.data_dir / "demo" / "serve.log").exists()
    assert (cli.data_dir / "demo" / "warehouse.duckdb").exists()
    # built as `oie run` builds: its data tests, not dbt's unit tests (CI runs those)
    results = cli.data_dir / "demo" / "dbt" / "target" / "run_results.json"
    ran = {r["unique_id"].split(".")[0] for r in json.loads(results.read_text())["results"]}
    assert {"model", "test"} <= ran and "unit_test" not in ran
    report = cli.data_dir / "demo" / "report.html"
    assert f"intent report: {report}" in proc.stdout.replace("\n", "") and report.is_file()


def test_demo_rejects_bad_options(cli: Cli) -> None:
    proc = cli("demo", "--visitors", "0")
    assert proc.returncode == 2 and "--visitors" in proc.stderr


def check_leads_command(cli: Cli) -> None:
    """`oie leads` on the demo warehouse: filters, components, pages, errors."""
    demo = Cli({**cli.env, "OIE_DATA_DIR": str(cli.data_dir / "demo")}, cli.cwd)
    con = duckdb.connect(str(cli.data_dir / "demo" / "warehouse.duckdb"), read_only=True)
    try:
        hot = con.execute(
            "select first_name || ' ' || last_name, intent_score, score_recency, "
            "score_frequency, pages_seen from lead_profiles where engagement_level = 'hot' "
            "order by intent_score desc, last_activity_at desc, lead_id"
        ).fetchall()
    finally:
        con.close()
    assert hot, "the demo traffic should make at least one lead hot"
    out = demo("leads", "--level", "hot", "--limit", "500", check=True).stdout
    assert "burning" not in out and "cold" not in out
    name, _score, recency, frequency, pages = hot[0]
    assert name in out and f"{recency:g}/{frequency:g}/" in out
    assert pages.split(",")[0] in out  # pages seen
    by_name = demo("leads", "--campaign", "Demo: Q4 outreach", check=True).stdout
    by_id = demo("leads", "--campaign", "demo-q4-outreach", check=True).stdout
    # Same rows whether the campaign is named by its name or its id (titles differ).
    assert by_name.split("\n", 1)[1] == by_id.split("\n", 1)[1]
    assert by_name.count("demo-q4-outreach") >= 10  # the top 20, all of this campaign
    assert "none yet" in demo("leads", "--campaign", "no-such-campaign", check=True).stdout
    bad = demo("leads", "--level", "tepid")
    assert bad.returncode == 2 and "--level must be one of" in bad.stderr
    missing = Cli({**cli.env, "OIE_DATA_DIR": str(cli.data_dir / "nowhere")}, cli.cwd)
    proc = missing("leads")
    assert proc.returncode == 1 and "oie run" in proc.stderr
