"""`oie demo`: the README's first command.

Default: the whole product live, in under a minute and with no account: a campaign from
the bundled lead list, the real collector and example site, simulated traffic through
them, `oie run`, then the hot leads and the campaign's performance.
`--sample`: the offline variant, the bundled raw sample built straight into the warehouse
(no server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oie import warehouse
from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.demo import run_live_demo, run_sample_demo
from oie.errors import UserError
from oie.stack import stop_on_sigterm

DEMO_HELP = """The whole product in under a minute: campaign, collector, traffic, warehouse.

No account and no network beyond 127.0.0.1: it imports the bundled lead list (400 leads,
one duplicate, one broken address) as a campaign, starts the real collector and the
example site, simulates a week of visitor traffic through them (today's over HTTP, earlier
days through the same ingest code with a simulated clock), runs `oie run`, and prints the
hottest leads, the campaign's performance and the companies reading the site (from the
demo's own network database). It ends with the command to try the example
site in a browser on the same data.

--sample is the offline variant: the bundled raw sample (≈ 9,000 events, 360 leads, three
campaigns) shifted so its newest day is today and built straight into the warehouse.

Everything goes to DIR (default: $OIE_DATA_DIR/demo), which the demo recreates each run.

\b
Examples:
  oie demo
  oie demo --visitors 1000 --days 14 --seed 7
  oie demo --sample
  oie demo --data-dir /tmp/oie-demo
"""


def register(app: typer.Typer) -> None:
    @app.command("demo", help=unwrap(DEMO_HELP))
    @handle_errors
    def demo(
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Where the demo writes (recreated each run)."),
        ] = None,
        use_sample: Annotated[
            bool, typer.Option("--sample", help="Offline: build the bundled raw sample, no server.")
        ] = False,
        visitors: Annotated[int, typer.Option("--visitors", help="Simulated visitors.")] = 250,
        days: Annotated[int, typer.Option("--days", help="Days of simulated traffic.")] = 7,
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same traffic.")] = 1,
    ) -> None:
        if not 1 <= visitors <= 100_000:
            raise UserError("--visitors must be between 1 and 100000")
        if not 1 <= days <= 30:
            raise UserError("--days must be between 1 and 30")
        target = (data_dir or warehouse.data_dir() / "demo").resolve()
        stop_on_sigterm()
        if use_sample:
            run_sample_demo(target)
        else:
            run_live_demo(target, visitors, days, seed)
