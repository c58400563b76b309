"""Fixtures for the pixel tests: real headless Chromium (Debian's /usr/bin/chromium through
pytest-playwright), the real ingest server (functions-framework subprocess, serving the
built pixel at /oie.js) and the example site pointing at it.

Most tests share one collector per module and tell their events apart by visitor id;
tests that need a fault (OIE_FAULT) or a setting start their own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oie.example_site import PIXEL_FILES, ExampleSite, serve_example_site
from tests.python.helpers import chromium
from tests.python.helpers.chromium import DESKTOP_UA
from tests.python.helpers.servers import IngestServer, start_ingest_server

REPO = Path(__file__).resolve().parents[3]
DIST = REPO / "pixel" / "dist"


def build_if_missing(config: pytest.Config) -> None:
    """The build is scripts/test.sh's job; a developer running pytest directly gets it too
    (once, in the controller: xdist workers would race on pixel/dist)."""
    if hasattr(config, "workerinput"):
        return
    if not all((DIST / name).is_file() for name in PIXEL_FILES):
        subprocess.run(["npm", "run", "--silent", "build"], cwd=REPO / "pixel", check=True)


def pytest_configure(config: pytest.Config) -> None:
    build_if_missing(config)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return chromium.launch_args()


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    return {"user_agent": DESKTOP_UA, "viewport": {"width": 1000, "height": 700}}


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestServer]:
    data_dir = tmp_path_factory.mktemp("collector")
    with start_ingest_server(data_dir=data_dir, env={"OIE_PIXEL_DIR": str(DIST)}) as srv:
        yield srv


@pytest.fixture(scope="module")
def site(collector: IngestServer) -> Iterator[ExampleSite]:
    with serve_example_site("127.0.0.1", 0, collector.url) as s:
        yield s


@pytest.fixture(autouse=True)
def no_page_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that drives a page also checks that no script error escaped on it."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield
    assert errors == [], f"uncaught errors on the page: {errors}"
