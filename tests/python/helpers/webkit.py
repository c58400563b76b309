"""WebKit as Debian ships it: WebKitGTK's MiniBrowser (libwebkit2gtk-4.1-0), started with
`--automation` by `WebKitWebDriver` (webkit2gtk-driver) and driven by PyPI selenium. It has
no headless mode: it needs an X server (helpers/xvfb.py). Facts the tests build on:
console messages cannot be read (the example site's `recorder` keeps the errors), wheel
scrolling stops after 500 px (scroll with `scrollBy`), and pages are restored from the
back/forward cache under automation.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver import WebKitGTKOptions, WebKitGTKService

WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"


def launch_webkit(display: str, log_path: Path) -> webdriver.WebKitGTK:
    """A MiniBrowser session on the X display `display` (":N")."""
    for path, part in ((WEBKIT_DRIVER, "webkit2gtk-driver"), (MINIBROWSER, "libwebkit2gtk-4.1-0")):
        if not Path(path).exists():
            pytest.fail(f"{path} missing ({part}): run scripts/bootstrap.sh webkit")
    options = WebKitGTKOptions()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")  # without it the session never starts
    service = WebKitGTKService(
        executable_path=WEBKIT_DRIVER,
        log_output=str(log_path),
        env={**os.environ, "DISPLAY": display},
    )
    with warnings.catch_warnings():
        # selenium's own WebKitGTK class still uses a RemoteConnection argument it deprecated.
        warnings.filterwarnings("ignore", "setting remote_server_addr", DeprecationWarning)
        return webdriver.WebKitGTK(options=options, service=service)
