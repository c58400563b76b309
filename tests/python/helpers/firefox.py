"""Debian's Firefox ESR driven through its built-in WebDriver BiDi by npm puppeteer-core
(pixel/node_modules), never a browser Puppeteer downloads. puppeteer-core is JavaScript: a
long-lived Node process (firefox_driver.mjs beside this file) runs it, and Python talks to
it in JSON lines over stdin/stdout.

    with FirefoxBridge.launch(log_path) as ff:
        ff.call("newPage", width=1000, height=700)
        ff.call("goto", url="http://127.0.0.1:8081/")
        ff.call("evaluate", expression="document.title")
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

import pytest

FIREFOX = "/usr/bin/firefox-esr"
REPO = Path(__file__).resolve().parents[3]
PIXEL_DIR = REPO / "pixel"
SCRIPT = Path(__file__).with_name("firefox_driver.mjs")
# A desktop Firefox (the ESR Debian ships): the collector flags HeadlessChrome/webdriver-ish
# agents as bots; the tests want their traffic scored like a visitor's.
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0"


class FirefoxError(RuntimeError):
    """A request the driver process answered with an error (a puppeteer exception)."""


class FirefoxBridge:
    version: str = ""  # e.g. "firefox/153.8.0"

    def __init__(self, proc: subprocess.Popen[str], log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self._next = 0
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    @classmethod
    def launch(cls, log_path: Path, user_agent: str = FIREFOX_UA) -> FirefoxBridge:
        if not Path(FIREFOX).exists():
            pytest.fail(f"{FIREFOX} missing: run scripts/bootstrap.sh firefox")
        node = shutil.which("node")
        if node is None:
            pytest.fail("node missing: the Firefox tests run puppeteer-core under Node")
        if not (PIXEL_DIR / "node_modules" / "puppeteer-core").is_dir():
            pytest.fail("puppeteer-core missing: run scripts/bootstrap.sh pixel (npm ci)")
        log = log_path.open("a")
        proc = subprocess.Popen(
            [node, str(SCRIPT), str(PIXEL_DIR), FIREFOX, user_agent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own group: Firefox goes with it if it must be killed
        )
        log.close()
        bridge = cls(proc, log_path)
        bridge.version = str(bridge.call("version", timeout=90))  # the launch happens first
        return bridge

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def call(self, op: str, timeout: float = 60.0, **args: Any) -> Any:
        """One request; its answer's value, or FirefoxError."""
        self._next += 1
        request = {"id": self._next, "op": op, "args": args}
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise FirefoxError(f"the Firefox driver has exited:\n{self.log()}") from None
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise FirefoxError(f"{op}: no answer within {timeout}s\n{self.log()}") from None
        if line is None:
            raise FirefoxError(f"{op}: the Firefox driver exited:\n{self.log()}")
        answer = json.loads(line)
        if answer.get("id") != self._next:
            raise FirefoxError(f"{op}: answer out of order: {line!r}")
        if not answer["ok"]:
            raise FirefoxError(f"{op}({args}): {answer['error']}")
        return answer["value"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"id": 0, "op": "close"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> FirefoxBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
