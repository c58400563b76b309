"""`oie serve`: the ingest function (ingest_function.server) plus the pixel's example site."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import UserError
from oie.serve import email_link, print_urls, try_it_lead
from oie.stack import running_stack, stop_on_sigterm
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
