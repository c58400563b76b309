"""Fixtures for the cross-engine pixel tests: one browser per engine per module (the module
names its engine: `ENGINE = "firefox"`), one real ingest server and one example site per
module. Each test gets a fresh visitor (nothing stored) and tells its events apart by its
visitor id, so the tests of a module run in any order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oie.example_site import ExampleSite, serve_example_site
from tests.python.engines.drivers import (
    ENGINES,
    ERRORS,
    ChromiumDriver,
    Driver,
    FirefoxDriver,
    WebKitDriver,
)
from tests.python.helpers.servers import IngestServer, start_ingest_server
from tests.python.helpers.xvfb import start_xvfb
from tests.python.pixel.conftest import DIST, build_if_missing


def pytest_configure(config: pytest.Config) -> None:
    build_if_missing(config)


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A private Xvfb for this worker (WebKitGTK has no headless mode)."""
    with start_xvfb() as display:
        yield display


@pytest.fixture(scope="module")
def driver(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Driver]:
    engine = request.module.ENGINE
    assert engine in ENGINES, engine
    logs = tmp_path_factory.mktemp(f"{engine}-logs")
    drv: Driver
    if engine == "chromium":
        # pytest-playwright's session Playwright (one per worker; a second sync_playwright
        # in the same thread would refuse to start).
        drv = ChromiumDriver(request.getfixturevalue("playwright"))
    elif engine == "firefox":
        drv = FirefoxDriver(logs / "firefox-driver.log")
    else:
        drv = WebKitDriver(request.getfixturevalue("x_display"), logs / "webkitwebdriver.log")
    try:
        yield drv
    finally:
        drv.close()


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestServer]:
    data_dir = tmp_path_factory.mktemp("collector")
    with start_ingest_server(data_dir=data_dir, env={"OIE_PIXEL_DIR": str(DIST)}) as srv:
        yield srv


@pytest.fixture(scope="module")
def site(collector: IngestServer) -> Iterator[ExampleSite]:
    with serve_example_site("127.0.0.1", 0, collector.url, recorder=True) as s:
        yield s


@pytest.fixture
def drv(driver: Driver, site: ExampleSite) -> Iterator[Driver]:
    """The module's browser as a new visitor; afterwards, no script error escaped on the
    test's pages (what the example site's recorder kept for the origin of the last page)."""
    driver.new_visitor(site.url)
    yield driver
    errors = driver.recorded(ERRORS)
    assert errors == [], f"uncaught errors on the page ({driver.engine}): {errors}"
