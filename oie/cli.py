"""The `oie` command line. Each command lives in oie/commands/<name>.py and registers here."""

from __future__ import annotations

import typer

from oie.commands import (
    alerts,
    campaign,
    crm,
    demo,
    forget,
    leads,
    replay,
    report,
    run,
    serve,
    simulate,
    sync,
    tune,
)

app = typer.Typer(
    name="oie",
    help="Outbound Intent Engine: who from your cold emails is on your site, and how hot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

demo.register(app)
leads.register(app)
replay.register(app)
campaign.register(app)
serve.register(app)
simulate.register(app)
run.register(app)
sync.register(app)
alerts.register(app)
crm.register(app)
tune.register(app)
report.register(app)
forget.register(app)


if __name__ == "__main__":
    app()
