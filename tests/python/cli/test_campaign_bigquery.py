"""Production path of `oie campaign create`: the leads go to BigQuery `raw_leads` with a
load job (here the PyPI `bqemulator` on 127.0.0.1), never to local landing files.
Needs `scripts/bootstrap.sh bqemulator` (scripts/test.sh installs it); fails without it."""

from __future__ import annotations

from tests.python.helpers.bqemulator import emulator_dataset

from .conftest import Cli

PROJECT, DATASET = "oie-cli-test", "raw"


def test_leads_are_loaded_into_bigquery(cli: Cli) -> None:
    with emulator_dataset(PROJECT, DATASET, cli.cwd) as (client, url):
        (cli.cwd / "leads.csv").write_text(
            "Email,First Name,Industry,Seniority\nada@example.com,Ada,Software,C-level\n"
            " BOB@example.com,Bob,Retail,\nbroken,X,Y,Z\n"
        )
        bq = Cli(
            {
                **cli.env,
                "OIE_TARGET": "bigquery",
                "OIE_BQ_PROJECT": PROJECT,
                "OIE_BQ_DATASET": DATASET,
                "OIE_BQ_API_ENDPOINT": url,
            },
            cli.cwd,
        )
        args = (
            "campaign",
            "create",
            "leads.csv",
            "--campaign",
            "BQ test",
            "--landing-url",
            "https://acme.example/",
        )
        first = bq(*args)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "loaded into BigQuery raw_leads" in first.stdout
        again = bq(*args)
        assert again.returncode == 0 and "nothing to load" in again.stdout

        rows = list(
            client.query(
                f"select email, first_name, campaign_id, token, attributes "
                f"from {DATASET}.raw_leads order by email"
            ).result()
        )
        assert [(r[0], r[1], r[2]) for r in rows] == [
            ("ada@example.com", "Ada", "bq-test"),
            ("bob@example.com", "Bob", "bq-test"),
        ]
        assert rows[0][4] == {"Seniority": "C-level"}
        assert len({r[3] for r in rows}) == 2
        # Production never writes local landing files for leads.
        assert not list((cli.data_dir / "landing").glob("leads/**/*.ndjson"))
