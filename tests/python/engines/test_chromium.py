"""The pixel's core scenarios (scenarios.py) in Debian's /usr/bin/chromium through Playwright."""

from tests.python.engines.scenarios import CoreScenarios

ENGINE = "chromium"


class TestChromium(CoreScenarios):
    pass
