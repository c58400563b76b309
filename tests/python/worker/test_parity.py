"""The Worker answers exactly as the local server: the same requests to the real ingest
server (reading kv.sqlite, filled by the local sync from the same edge_profiles) and to the
Worker under Miniflare (reading Workers KV, filled by the Cloudflare sync) get the same
status, the same body bytes and the same headers that matter to a browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kv_sync import runner
from oie_core.settings import Settings
from tests.python.helpers.servers import IngestServer, Reply, http_call, start_ingest_server
from tests.python.kv.support import write_edge_profiles
from tests.python.worker.conftest import FORWARDED_TOKEN, ROWS, Synced
from tests.python.worker.support import ORIGINS, SECRET

# Headers a browser or the pixel acts on (the servers differ in Date, Server, Content-Length).
COMPARED = (
    "content-type",
    "cache-control",
    "x-content-type-options",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "vary",
)
ALLOWED = {"Origin": "https://www.acme.example"}
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/personalize?vid=visitor-000001", {}),
    ("GET", "/personalize?vid=visitor-000001", ALLOWED),
    ("GET", "/personalize?vid=visitor-000003", {"Origin": "https://a.b.acme.example"}),
    ("GET", "/personalize?vid=visitor-000003", {"Origin": "http://127.0.0.1:9999"}),
    ("GET", "/personalize?vid=visitor-000004", {"Referer": "https://www.acme.example/x?y"}),
    ("GET", "/personalize?vid=visitor-000004", {"Origin": "https://evil.example"}),
    ("GET", "/personalize?vid=visitor-000020", ALLOWED),  # non-public fields, UTF-8
    ("GET", "/personalize?vid=someone-new-1&i=Tk000000002", ALLOWED),
    ("GET", "/personalize?vid=visitor-000000&i=Tk000000002", ALLOWED),
    ("GET", f"/personalize?vid=someone-new-1&i={FORWARDED_TOKEN}", ALLOWED),
    ("GET", "/personalize?vid=someone-new-1&i=Tk000000030", ALLOWED),
    ("GET", "/personalize?vid=someone-new-1&i=", ALLOWED),
    ("GET", "/personalize?vid=visitor-000040&i=Tk000000003", ALLOWED),  # not JSON
    ("GET", "/personalize?vid=visitor-000041&i=Tk000000003", ALLOWED),  # not an object
    ("GET", "/personalize?vid=visitor-000040", ALLOWED),
    ("GET", "/personalize?vid=someone-new-1", {"Origin": "https://evil.example"}),
    ("GET", "/personalize?vid=short", ALLOWED),
    ("GET", "/personalize", ALLOWED),
    ("GET", "/personalize?vid=" + "x" * 65, {}),
    ("GET", "/personalize?vid=visitor-000001&i=Tk0000000", ALLOWED),
    ("GET", "/personalize?vid=visitor-000001&i=Tk000000001x", {}),
    ("GET", "/personalize?vid=visitor-000001%0A", {}),  # a trailing newline is no id
    ("GET", "/personalize?vid=someone-new-1&i=Tk000000002%0A", {}),
    ("GET", "/personalize?vid=visitor-000001&vid=visitor-000002", {}),  # the first counts
    ("GET", "/personalize/?vid=visitor-000002", {}),
    ("HEAD", "/personalize?vid=visitor-000001", ALLOWED),
    ("GET", "/nowhere", ALLOWED),
    ("OPTIONS", "/personalize", {**ALLOWED, "Access-Control-Request-Method": "GET"}),
    ("OPTIONS", "/personalize", {"Origin": "HTTPS://Shop.Acme.Example"}),
    ("OPTIONS", "/personalize", {"Origin": "https://evil.example"}),
    ("OPTIONS", "/personalize", {"Referer": "https://www.acme.example/"}),
    ("OPTIONS", "/personalize", {}),
]


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestServer]:
    data_dir = tmp_path_factory.mktemp("local-kv")
    write_edge_profiles(data_dir, ROWS)
    env = {"OIE_DATA_DIR": str(data_dir), "OIE_TOKEN_SECRET": SECRET, "OIE_KV": "local"}
    report = runner.run(Settings.from_env(env))
    assert report.new == len(ROWS)
    with start_ingest_server(data_dir=data_dir, env={"OIE_ALLOWED_ORIGINS": ORIGINS}) as srv:
        yield srv


def seen(reply: Reply) -> tuple[int, bytes, dict[str, list[str]]]:
    headers = {h: reply.all(h) for h in COMPARED if reply.all(h)}
    if reply.status == 204:  # no body, no type (Flask adds its default text/html anyway)
        headers.pop("content-type", None)
    return reply.status, reply.body, headers


def test_same_answers_as_the_local_server(local_server: IngestServer, synced: Synced) -> None:
    differences = []
    for method, path, headers in CASES:
        local = seen(http_call(local_server.url + path, method, headers=headers))
        edge = seen(synced.edge.get(path, headers, method))
        if local != edge:
            differences.append(f"{method} {path} {headers}:\n  local {local}\n  edge  {edge}")
    assert differences == [], "\n".join(differences)


def test_the_cases_cover_every_answer(local_server: IngestServer, synced: Synced) -> None:
    statuses = {synced.edge.get(path, headers, method).status for method, path, headers in CASES}
    assert statuses == {200, 204, 400, 403, 404}
