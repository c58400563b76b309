"""`oie simulate`: realistic synthetic traffic through the real ingest code."""

from __future__ import annotations

from typing import Annotated

import typer

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.simulate import run_simulation

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
        run_simulation(
            visitors=visitors,
            days=days,
            seed=seed,
            endpoint=endpoint,
            site=site,
            campaign=campaign,
            start_server=start_server,
            threads=threads,
        )
