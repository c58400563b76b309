"""`oie simulate`: realistic visitor traffic sent through the real ingest code.

The journeys of `oie.traffic` for the leads in the token registry: today's through the
running collector's HTTP API, earlier days through the same ingest code in-process with a
simulated clock. Shared by `oie simulate` and `oie demo`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from oie.errors import EXIT_FAILED, UserError
from oie.lead_list import slugify
from oie.stack import running_stack
from oie.token_registry import TokenRegistry
from oie.traffic.http_sender import RateLimited, check_endpoint
from oie.traffic.journeys import plan_journeys
from oie.traffic.model import SimLead, SimStats, count_actions
from oie.traffic.send import send_journeys
from oie_core.settings import Settings, SettingsError

console = Console(highlight=False, soft_wrap=True)

DEFAULT_SITE = "http://127.0.0.1:8081"  # the example site of `oie serve`


def settings_from_env() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise UserError(str(exc)) from None


def load_leads(settings: Settings, campaign: str | None, limit: int) -> list[SimLead]:
    """Up to `limit` leads of the registry (of one campaign, by name or id): [] before any."""
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
    return [SimLead(email, token, cid) for email, token, cid in rows]


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
    settings: Settings | None = None,
) -> SimStats:
    """Plan and send the journeys; shared by `oie simulate` and `oie demo`.

    `settings` (default: from the environment) names the token registry the leads come
    from and configures the in-process ingest code that lands earlier days."""
    if endpoint is not None:
        check_endpoint(endpoint)  # before any planning: a typo is not a run-time failure
    settings = settings or settings_from_env()
    leads = load_leads(settings, campaign, visitors)
    if not leads:
        out.print("[yellow]note:[/] no leads yet (`oie campaign create`): anonymous traffic only")
    now = time.time()
    today_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    journeys = plan_journeys(
        leads,
        visitors=visitors,
        days=days,
        seed=seed,
        today_start=today_start,
        now=now,
        site=site,
    )
    total = count_actions(journeys)
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
            return send_journeys(
                journeys,
                today_start=today_start,
                endpoint=endpoint,
                site=site,
                threads=threads,
                progress=lambda n: progress.update(task, completed=n),
                settings=settings,
            )
        except RateLimited as exc:
            raise UserError(str(exc), EXIT_FAILED) from None
        except (ConnectionError, OSError) as exc:
            raise UserError(
                f"cannot reach the server at {endpoint} ({exc}): start `oie serve` first, "
                "or pass --start-server",
                EXIT_FAILED,
            ) from None


def stats_table(stats: SimStats, seconds: float) -> Table:
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
    return table


@contextlib.contextmanager
def collector(start: bool, endpoint: str | None, site: str, data_dir: Path) -> Iterator[str | None]:
    """`endpoint` as given, or a temporary collector's for the run (`--start-server`)."""
    if not start:
        yield endpoint
        return
    env = dict(os.environ)
    # The temporary collector redirects email clicks to the simulated site.
    env.setdefault("OIE_REDIRECT_HOSTS", urlsplit(site).netloc)
    with running_stack(site_port=None, log_path=data_dir / "simulate-server.log", env=env) as stack:
        yield stack.collector


def run_simulation(
    *,
    visitors: int,
    days: int,
    seed: int,
    endpoint: str,
    site: str | None,
    campaign: str | None,
    start_server: bool,
    threads: int,
    out: Console = console,
) -> None:
    """What `oie simulate` does: check the options, send, print the tally and what next."""
    if visitors < 1:
        raise UserError("--visitors must be at least 1")
    if not 1 <= days <= 90:
        raise UserError("--days must be between 1 and 90")
    if not 1 <= threads <= 64:
        raise UserError("--threads must be between 1 and 64")
    settings = settings_from_env()
    origin = site or settings.default_site or DEFAULT_SITE
    if not origin.startswith(("http://", "https://")):
        raise UserError(f"--site must be an origin like https://www.example.com, got {origin!r}")
    started = time.monotonic()
    with collector(start_server, endpoint, origin, settings.data_dir) as url:
        stats = simulate(
            visitors=visitors,
            days=days,
            seed=seed,
            endpoint=url,
            site=origin,
            campaign=campaign,
            threads=threads,
            out=out,
            settings=settings,
        )
    out.print(stats_table(stats, time.monotonic() - started))
    if stats.in_process_requests and (settings.data_dir / "warehouse.duckdb").exists():
        # Earlier days land with their simulated receive times, older than the watermark
        # of incremental models that were already built: only a full refresh reads them.
        out.print(
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
    out.print("next: `oie run` to build the warehouse, then `oie leads`")
