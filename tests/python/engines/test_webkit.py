"""The pixel's core scenarios (scenarios.py) in WebKitGTK's MiniBrowser, through
WebKitWebDriver by selenium, under Xvfb."""

from tests.python.engines.scenarios import CoreScenarios

ENGINE = "webkit"


class TestWebKit(CoreScenarios):
    pass
