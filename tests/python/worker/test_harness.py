"""pixel/worker/test/harness.mjs as a benchmark or a developer uses it: it stops cleanly
when its stdin closes or on SIGTERM (Miniflare's workerd goes with it), and `measure`
reports a Worker's latency percentiles."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.python.helpers.servers import http_call
from tests.python.worker.support import HARNESS, PIXEL, node, start_edge, stop


def gone(url: str) -> bool:
    try:
        http_call(url + "/personalize?vid=visitor-000001", timeout=5)
    except OSError:
        return True
    return False


@pytest.mark.parametrize("how", ["stdin", "sigterm"])
def test_the_harness_stops_cleanly(tmp_path: Path, how: str) -> None:
    with start_edge("", tmp_path) as edge:
        api = edge.base_url.removesuffix("/client/v4")
        assert edge.worker.startswith("http://127.0.0.1:") and api.startswith("http://127.0.0.1:")
        assert edge.worker != api and edge.base_url.endswith("/client/v4")
        assert edge.get("/personalize?vid=visitor-000001").status == 404
        if how == "sigterm":
            edge.proc.send_signal(signal.SIGTERM)
            assert edge.proc.wait(20) == 128 + signal.SIGTERM, edge.log()
        else:
            assert stop(edge.proc) == 0, edge.log()
        assert gone(edge.worker) and gone(api)


def test_measure_reports_latency_percentiles(tmp_path: Path) -> None:
    script = (
        "const { measure } = await import(process.argv[1]);"
        "const stats = await measure([process.argv[2]], {requests: 60, concurrency: 3, warmup: 5});"
        "process.stdout.write(JSON.stringify(stats));"
    )
    with start_edge("", tmp_path) as edge:
        url = edge.worker + "/personalize?vid=nobody-at-all"
        proc = subprocess.run(
            [node(), "--input-type=module", "-e", script, str(HARNESS), url],
            cwd=PIXEL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        stats = json.loads(proc.stdout)
    assert stats["requests"] == 60 and stats["statuses"] == {"404": 60}
    assert 0 < stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    assert stats["rps"] > 0
