"""The pixel's core scenarios (scenarios.py) in Debian's Firefox ESR, through its WebDriver
BiDi by npm puppeteer-core in a Node process."""

from tests.python.engines.scenarios import CoreScenarios

ENGINE = "firefox"


class TestFirefox(CoreScenarios):
    pass
