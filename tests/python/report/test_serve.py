"""`oie report --serve`: the page on 127.0.0.1, rebuilt on every reload (a change written
to the warehouse between two requests shows on the second, so the server does not hold
the DuckDB file), nothing requested but 127.0.0.1, and a clean stop on SIGTERM."""

from __future__ import annotations

import re
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import duckdb

from .conftest import Warehouses, Watched, copy_of

URL = re.compile(r"serving the report at (http://127\.0\.0\.1:\d+/)")


def get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_serve_rebuilds_on_reload_and_stops_cleanly(
    page: Any, watched: Watched, warehouses: Warehouses, tmp_path: Path
) -> None:
    served = copy_of(warehouses.hostile, tmp_path / "served")
    proc = served.popen("report", "--serve", "--port", "0")
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if found := URL.search(line):
                break
        else:
            raise AssertionError("".join(lines))
        url = found.group(1)
        status, headers, html = get(url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "Acme" in html and "Renamed Corp" not in html
        assert get(url + "nothing-here")[0] == 404

        con = duckdb.connect(str(served.data_dir / "warehouse.duckdb"))  # a writer, like dbt
        try:
            con.execute("update lead_profiles set company = 'Renamed Corp'")
        finally:
            con.close()
        page.goto(url)
        assert "Renamed Corp" in page.locator("#hot-table tbody").inner_text()
        assert watched.requests and all(r.startswith(url) for r in watched.requests)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "stopped" in rest and "Traceback" not in rest
