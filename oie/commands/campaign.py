"""`oie campaign create`: turn a lead list into tracking links and `raw_leads` rows."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from oie.campaign import CampaignResult, create_campaign
from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import UserError
from oie.lead_list import CampaignError
from oie_core import tombstones
from oie_core.bigquery_client import MISSING_EXTRA, bigquery_client
from oie_core.raw_schema import RAW_LEADS
from oie_core.settings import Settings, SettingsError

console = Console(highlight=False)

campaign_app = typer.Typer(
    help="Campaigns: mint tracking links for a lead list.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

CREATE_HELP = """Mint tracking links for a lead list and land its leads for the warehouse.

Reads a Smartlead, Instantly, Apollo or HubSpot export and mints one signed token per
lead.

Headers are matched ignoring case, spaces and underscores (Email, First Name, first_name,
Company Name, Job Title...); other columns are kept as lead attributes. Emails are trimmed
and lowercased; invalid rows and duplicates are dropped and listed with their line
numbers in <campaign>-problems.csv. Re-importing the same list changes nothing.

\b
Writes:
  <campaign>-urls.csv   your columns + tracking_url, ready to import into your sender
  $OIE_DATA_DIR/landing/leads/...ndjson   the leads, loaded by the next `oie run`
  $OIE_DATA_DIR/tokens.sqlite             the token registry (keep it: re-imports use it)

\b
Examples:
  oie campaign create leads.csv --campaign "Q4 CFO outreach" --landing-url https://acme.com/pricing
  oie campaign create apollo.csv --campaign q4-cfo --landing-url https://acme.com/ \\
      --tracking-base https://collect.acme.com --out links.csv
"""


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise UserError(str(exc)) from None


@campaign_app.command("create", help=unwrap(CREATE_HELP))
@handle_errors
def create(
    leads_csv: Annotated[Path, typer.Argument(help="The lead list (CSV).", show_default=False)],
    campaign: Annotated[
        str, typer.Option("--campaign", "-c", help="Campaign name (slugged for ids).")
    ],
    landing_url: Annotated[str, typer.Option("--landing-url", help="Page the links open.")],
    tracking_base: Annotated[
        str | None,
        typer.Option(
            "--tracking-base",
            help="Collector origin: links go through {base}/go?i=TOKEN&to=PATH (click tracking).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="URL file to write [default: ./<campaign>-urls.csv]."),
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="CSV text encoding, e.g. cp1252 for old Excel.")
    ] = "utf-8-sig",
) -> None:
    settings = _settings()
    started = time.monotonic()
    size = leads_csv.stat().st_size if leads_csv.is_file() else 0
    progress = Progress(
        TextColumn("[bold]reading[/] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        # Only show the bar for work that takes a while (> 1 s).
        disable=size < 5_000_000,
    )
    sink = None
    if settings.target == "bigquery" or settings.sink == "bigquery":
        sink = _bigquery_sink(settings)
    with progress:
        task = progress.add_task(leads_csv.name, total=size or None)
        try:
            result = create_campaign(
                leads_csv,
                campaign,
                landing_url,
                keyring=settings.keyring,
                data_dir=settings.data_dir,
                landing_dir=settings.landing_dir,
                out_path=out,
                tracking_base=tracking_base,
                encoding=encoding,
                progress=lambda done: progress.update(task, completed=done),
                leads_sink=sink,
                forgotten=tombstones.email_check(settings.landing_dir, settings.tombstone_key),
            )
        except CampaignError as exc:
            raise UserError(str(exc)) from None
        except LookupError:
            raise UserError(f"--encoding {encoding!r} is not a known text encoding") from None
    _print_result(result, time.monotonic() - started)


def _print_result(result: CampaignResult, seconds: float) -> None:
    table = Table(title=f"campaign {result.campaign_id}", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("rows read", f"{result.rows:,}")
    table.add_row("new leads", f"{result.new:,}")
    table.add_row("updated leads", f"{result.updated:,}")
    table.add_row("unchanged (already imported)", f"{result.unchanged:,}")
    table.add_row("duplicates dropped", f"{result.duplicates:,}")
    table.add_row("invalid rows dropped", f"{result.invalid:,}")
    if result.collisions:
        table.add_row("token collisions resolved", f"{result.collisions:,}")
    table.add_row("time", f"{seconds:.1f} s")
    console.print(table)
    if result.first_problems:
        problems = Table(title="dropped rows (first 10)")
        problems.add_column("line", justify="right")
        problems.add_column("email")
        problems.add_column("reason")
        for p in result.first_problems:
            problems.add_row(str(p.line), p.email, p.reason)
        console.print(problems)
        console.print(f"all dropped rows: {result.problems_path}")
    console.print(f"tracking links: [bold]{result.urls_path}[/]")
    if result.landing_path:
        console.print(f"leads landed:   {result.landing_path} (loaded by the next `oie run`)")
    elif result.new or result.updated:
        console.print("leads loaded into BigQuery raw_leads")
    else:
        console.print("no new or changed leads: nothing to load")


def _bigquery_sink(settings: Settings):  # type: ignore[no-untyped-def]
    """Production: a BigQuery load job into raw_leads instead of the landing folder."""

    if not (settings.bq_project and settings.bq_dataset):
        raise UserError("OIE_TARGET=bigquery needs OIE_BQ_PROJECT and OIE_BQ_DATASET for raw_leads")

    def load(path: Path) -> None:
        try:
            from google.cloud import bigquery

            client = bigquery_client(settings.bq_project, settings.bq_endpoint)
        except ImportError:
            raise UserError(MISSING_EXTRA) from None
        table = f"{settings.bq_project}.{settings.bq_dataset}.raw_leads"
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            autodetect=False,
            # The one declaration (oie_core/raw_schema.py); a table made before a column was
            # added gets it on the next load instead of refusing the file.
            schema=[
                bigquery.SchemaField(name, kind, mode=mode)
                for name, kind, mode in RAW_LEADS.bigquery_schema()
            ],
            schema_update_options=[bigquery.SchemaUpdateOption.ALLOW_FIELD_ADDITION],
        )
        with open(path, "rb") as fh:
            client.load_table_from_file(fh, table, job_config=config).result()

    return load


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
