"""Debian's headless Chromium as every browser test launches it (pytest-playwright's
`browser_type_launch_args`), never a browser Playwright downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Headless Chromium announces itself ("HeadlessChrome"); the server and the warehouse flag
# that as a bot. The tests play a desktop Chrome so their traffic is scored like a visitor's.
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The context's user agent is a DevTools override, which the beacons an unloading page
    # sends (the pixel's pagehide flush) do not get: those said HeadlessChrome and were
    # scored as a bot's. The browser's own switch covers every request.
    f"--user-agent={DESKTOP_UA}",
]


def launch_args() -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium missing: run scripts/bootstrap.sh chromium")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}
