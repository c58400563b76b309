"""`oie serve`'s logic: the email link to try, a first lead when there is none, the URLs.

The servers themselves are started by `oie.stack.running_stack`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from oie.campaign import create_campaign
from oie.stack import Stack
from oie.token_registry import TokenRegistry
from oie_core.settings import Settings

console = Console(highlight=False, soft_wrap=True)


def email_link(settings: Settings, collector: str) -> tuple[str, str] | None:
    """(email, /go URL) for the newest lead in the token registry, if there is one."""
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
