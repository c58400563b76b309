"""`oie simulate`: realistic synthetic traffic through the real ingest code."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from oie import simulator
from oie.campaigns import TokenRegistry, slugify
from oie.commands._errors import EXIT_FAILED, UserError, handle_errors
from oie.commands._help import unwrap
from oie_core.settings import Settings, SettingsError

console = Console(highlight=False, soft_wrap=True)

SIMULATE_HELP = """Send realistic visitor traffic through the real ingest code.

Journeys for the leads of your campaigns: email clicks
through /go (some after a link scanner), pageviews on pricing, case studies and product
pages, scrolls, videos, demo forms with hashed emails, returns over days, device switches,
forwarded links, bots and anonymous visitors. Today's visits go through the running
server's HTTP API; earlier days go through the same ingest code in-process with a
simulated clock (the server rightly refuses events older than OIE_MAX_EVENT_AGE).
The same --seed gives the same journeys.

\b
Examples:
  oie serve &                                   # in another terminal
  oie simulate --visitors 500 --days 7 --seed 1
  oie simulate --visitors 10000 --days 14 --start-server   # its own temporary collector
  oie simulate --visitors 50 --days 1 --campaign "Q4 CFO outreach" --endpoint http://127.0.0.1:9000
"""


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise UserError(str(exc)) from None


def load_leads(settings: Settings, campaign: str | None, limit: int) -> list[simulator.SimLead]:
    path = settings.data_dir / "tokens.sqlite"
    if not path.exists():
        return []
    registry = TokenRegistry(path)
    try:
        campaign_id = slugify(campaign) if campaign else None
        if campaign_id and registry.campaign(campaign_id) is None:
            raise UserError(f"--campaign {campaign!r}: no such campaign in {path}")
        rows = registry.leads(campaign_id, limit)
    finally:
        registry.close()
    return [simulator.SimLead(email, token, cid) for email, token, cid in rows]


def simulate(
    *,
    visitors: int,
    days: int,
    seed: int,
    endpoint: str | None,
    site: str,
    campaign: str | None = None,
    threads: int = 8,
    out: Console = console,
) -> simulator.SimStats:
    """Plan and send the journeys; shared by `oie simulate` and `oie demo`."""
    settings = _settings()
    leads = load_leads(settings, campaign, visitors)
    if not leads:
        out.print("[yellow]note:[/] no leads yet (`oie campaign create`): anonymous traffic only")
    now = time.time()
    today_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    journeys = simulator.plan_journeys(
        leads,
        visitors=visitors,
        days=days,
        seed=seed,
        today_start=today_start,
        now=now,
        site=site,
    )
    total = simulator.count_actions(journeys)
    progress = Progress(
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=total < 300,
    )
    with progress:
        task = progress.add_task("send", total=total)
        try:
            return simulator.send_journeys(
                journeys,
                today_start=today_start,
                endpoint=endpoint,
                site=site,
                threads=threads,
                progress=lambda n: progress.update(task, completed=n),
            )
        except simulator.RateLimited as exc:
            raise UserError(str(exc), EXIT_FAILED) from None
        except (ConnectionError, OSError) as exc:
            raise UserError(
                f"cannot reach the server at {endpoint} ({exc}): start `oie serve` first, "
                "or pass --start-server",
                EXIT_FAILED,
            ) from None


def print_stats(stats: simulator.SimStats, seconds: float, out: Console = console) -> None:
    table = Table(title="simulated traffic", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for persona, n in sorted(stats.visitors.items()):
        table.add_row(f"visitors: {persona}", f"{n:,}")
    table.add_row("email clicks (/go)", f"{stats.clicks:,}")
    table.add_row("batches (/track)", f"{stats.batches:,}")
    table.add_row("events accepted", f"{stats.accepted:,}")
    table.add_row("events rejected", f"{stats.rejected:,}")
    table.add_row("HTTP requests (today)", f"{stats.http_requests:,}")
    table.add_row("in-process requests (earlier days)", f"{stats.in_process_requests:,}")
    table.add_row("time", f"{seconds:.1f} s")
    out.print(table)


@contextlib.contextmanager
def _maybe_server(
    start: bool, endpoint: str | None, site: str, data_dir: Path
) -> Iterator[str | None]:
    if not start:
        yield endpoint
        return
    import os
    from urllib.parse import urlsplit

    from oie.stack import running_stack

    env = dict(os.environ)
    # The temporary collector redirects email clicks to the simulated site.
    env.setdefault("OIE_REDIRECT_HOSTS", urlsplit(site).netloc)
    with running_stack(site_port=None, log_path=data_dir / "simulate-server.log", env=env) as stack:
        yield stack.collector


def register(app: typer.Typer) -> None:
    @app.command("simulate", help=unwrap(SIMULATE_HELP))
    @handle_errors
    def simulate_cmd(
        visitors: Annotated[int, typer.Option("--visitors", "-n", help="How many visitors.")] = 200,
        days: Annotated[int, typer.Option("--days", "-d", help="Spread over this many days.")] = 7,
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same journeys.")] = 1,
        endpoint: Annotated[
            str, typer.Option("--endpoint", help="The running collector (oie serve).")
        ] = "http://127.0.0.1:8080",
        site: Annotated[
            str | None,
            typer.Option(
                "--site",
                help="Origin of the simulated pages [default: first "
                "OIE_REDIRECT_HOSTS, else the example site http://127.0.0.1:8081].",
            ),
        ] = None,
        campaign: Annotated[
            str | None, typer.Option("--campaign", "-c", help="Only this campaign's leads.")
        ] = None,
        start_server: Annotated[
            bool, typer.Option("--start-server", help="Start a temporary collector for the run.")
        ] = False,
        threads: Annotated[int, typer.Option("--threads", help="Parallel HTTP senders.")] = 8,
    ) -> None:
        if visitors < 1:
            raise UserError("--visitors must be at least 1")
        if not 1 <= days <= 90:
            raise UserError("--days must be between 1 and 90")
        if not 1 <= threads <= 64:
            raise UserError("--threads must be between 1 and 64")
        settings = _settings()
        origin = site or settings.default_site or "http://127.0.0.1:8081"
        if not origin.startswith(("http://", "https://")):
            raise UserError(
                f"--site must be an origin like https://www.example.com, got {origin!r}"
            )
        started = time.monotonic()
        with _maybe_server(start_server, endpoint, origin, settings.data_dir) as url:
            stats = simulate(
                visitors=visitors,
                days=days,
                seed=seed,
                endpoint=url,
                site=origin,
                campaign=campaign,
                threads=threads,
            )
        print_stats(stats, time.monotonic() - started)
        if stats.in_process_requests and (settings.data_dir / "warehouse.duckdb").exists():
            # Earlier days land with their simulated receive times, older than the watermark
            # of incremental models that were already built: only a full refresh reads them.
            console.print(
                "[yellow]note:[/] earlier days were landed with their (simulated) receive "
                "times, before the existing warehouse's watermark: run "
                "`oie run --full-refresh` to include them"
            )
        if stats.errors:
            detail = ", ".join(f"{k} x{v}" for k, v in stats.errors.most_common())
            hint = ""
            if any(" 403" in k for k in stats.errors):
                hint = f" (does the server's OIE_ALLOWED_ORIGINS allow {origin}? see --site)"
            raise UserError(f"some requests failed: {detail}{hint}", EXIT_FAILED)
        console.print("next: `oie run` to build the warehouse, then `oie leads`")
