"""`oie serve`: the ingest function (functions-framework) plus the pixel's example site."""

from __future__ import annotations

import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from oie.commands._errors import UserError, handle_errors
from oie.commands._help import unwrap
from oie.stack import Stack, running_stack
from oie_core.settings import Settings, SettingsError

console = Console(highlight=False, soft_wrap=True)

SERVE_HELP = """Run the collector, the pixel and the example site locally.

The ingest function (every endpoint: /track, /go, /identify, /personalize, /health)
with the built pixel at /oie.js, and the pixel's example site on a second port, whose
site tag points at the collector. Prints the URLs to open,
including an email link with a real token. Ctrl-C stops both and seals the landing files.

\b
Examples:
  oie serve                            # collector on 127.0.0.1:8080, site on :8081
  oie serve --port 9000 --site-port 9001
  oie serve --host 0.0.0.0             # reachable from other machines (mind OIE_ALLOWED_ORIGINS)
"""


def email_link(settings: Settings, collector: str) -> tuple[str, str] | None:
    """(email, /go URL) for the newest lead in the token registry, if there is one."""
    from oie.campaigns import TokenRegistry

    path = settings.data_dir / "tokens.sqlite"
    if not path.exists():
        return None
    registry = TokenRegistry(path)
    try:
        latest = registry.latest()
    finally:
        registry.close()
    if latest is None:
        return None
    _, email, token = latest
    return email, f"{collector}/go?i={token}&to=/pricing.html"


def try_it_lead(settings: Settings) -> None:
    """No campaign yet: import a one-lead campaign so the printed email link is real."""
    from oie.campaigns import create_campaign

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "you.csv"
        csv_path.write_text("email,first_name,company\nyou@example.com,You,Example Inc\n")
        create_campaign(
            csv_path,
            "try it",
            "http://127.0.0.1/",
            keyring=settings.keyring,
            data_dir=settings.data_dir,
            landing_dir=settings.landing_dir,
            out_path=Path(tmp) / "try-it-urls.csv",
        )


def stop_on_sigterm() -> None:
    """Turn SIGINT/SIGTERM/SIGHUP into KeyboardInterrupt so the servers we started are stopped
    (and their landing files sealed) by the usual `finally`, not orphaned."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a process started in the background by a non-interactive shell (cron, CI,
    # `nohup … &`) inherits SIGINT as *ignored*, and Python then never raises
    # KeyboardInterrupt, so Ctrl-C / kill -INT would not stop the servers.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def print_urls(stack: Stack, settings: Settings) -> None:
    link = email_link(settings, stack.collector)
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("collector", stack.collector)
    table.add_row("pixel", f"{stack.collector}/oie.js")
    table.add_row("health", f"{stack.collector}/health")
    if stack.site:
        table.add_row("example site", stack.site)
    else:
        table.add_row("example site", "not available (the pixel part's example site is missing)")
    if link:
        table.add_row("email link", f"{link[1]}   ({link[0]})")
    table.add_row("landing files", str(settings.landing_dir))
    console.print(table)
    if not (settings.pixel_dir / "oie.js").exists():
        console.print("[yellow]note:[/] pixel not built: run `cd pixel && npm run build`")
    console.print("Open the email link, browse, then run `oie run` and `oie leads`. Ctrl-C stops.")


def register(app: typer.Typer) -> None:
    @app.command("serve", help=unwrap(SERVE_HELP))
    @handle_errors
    def serve(
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Collector port (0 = any free).")] = 8080,
        site_port: Annotated[
            int, typer.Option("--site-port", help="Example site port (0 = any free).")
        ] = 8081,
        no_site: Annotated[bool, typer.Option("--no-site", help="Run the collector only.")] = False,
    ) -> None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise UserError(str(exc)) from None
        if not (0 <= port < 65536 and 0 <= site_port < 65536):
            raise UserError("ports must be between 0 and 65535")
        stop_on_sigterm()
        if email_link(settings, "") is None:
            try_it_lead(settings)
        log_path = settings.data_dir / "serve.log"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with running_stack(host, port, None if no_site else site_port, log_path=log_path) as stack:
            print_urls(stack, settings)
            console.print(f"server log: {log_path}")
            try:
                while stack.proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                console.print("stopping ...")
                return
            raise UserError(
                f"the ingest server stopped (code {stack.proc.returncode}); see {log_path}", 1
            )
