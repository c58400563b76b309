"""The edge Worker (pixel/worker/dist/worker.js) under Miniflare, answering from the KV
namespace the real KV sync filled through the real `cloudflare` SDK: `v:` then `t:`, the
errors, CORS, the preflight, and a lead whose keys a later sync deleted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cloudflare
import pytest

from kv_sync import runner
from kv_sync.clock import SystemClock
from kv_sync.cloudflare import CloudflareKV
from kv_sync.errors import KVRejected
from oie_core.settings import Settings
from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.servers import Reply
from tests.python.kv.support import lead_rows, md5, profile, write_edge_profiles
from tests.python.worker.conftest import FORWARDED_TOKEN, Synced
from tests.python.worker.support import Edge

PUBLIC = ("first_name", "company", "engagement_level", "campaign_id", "updated_at")
ALLOWED = "https://www.acme.example"
FOREIGN = "https://evil.example"


def assert_profile(reply: Reply, value: str) -> None:
    assert reply.status == 200, reply.body
    assert reply.json() == json.loads(value)
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["cache-control"] == "private, max-age=60"
    assert reply.headers["x-content-type-options"] == "nosniff"


def assert_error(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert set(reply.json()) == {"error", "detail"}
    assert reply.json()["error"] == code
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["cache-control"] == "no-store"


def test_known_visitor_gets_its_profile(synced: Synced) -> None:
    reply = synced.edge.get("/personalize?vid=visitor-000001")
    assert_profile(reply, synced.rows["v:visitor-000001"])


def test_first_visit_is_answered_from_the_token_key(synced: Synced) -> None:
    reply = synced.edge.get("/personalize?vid=brand-new-visitor-1&i=Tk000000002")
    assert_profile(reply, synced.rows["t:Tk000000002"])


def test_the_visitor_key_wins_over_the_token_key(synced: Synced) -> None:
    reply = synced.edge.get("/personalize?vid=visitor-000000&i=Tk000000002")
    assert_profile(reply, synced.rows["v:visitor-000000"])
    assert reply.json()["first_name"] == "Lead0"


@pytest.mark.parametrize(
    "query",
    [
        "vid=nobody-knows-me",
        "vid=nobody-knows-me&i=TkNobody000",  # a token nobody minted: shape-valid, no key
        f"vid=nobody-knows-me&i={FORWARDED_TOKEN}",  # lead 10's token was forwarded
        "vid=nobody-knows-me&i=Tk000000030",  # a value flagged forwarded
        "vid=nobody-knows-me&i=",  # an empty token is no token
    ],
)
def test_unknown_visitor_and_forwarded_tokens_are_404(synced: Synced, query: str) -> None:
    reply = synced.edge.get("/personalize?" + query, {"Origin": ALLOWED})
    assert_error(reply, 404, "not_found")
    assert reply.json()["detail"] == "no profile for this visitor"
    # The pixel reads the 404 (an unknown visitor), so it carries CORS like a profile does.
    assert reply.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("vid", ["visitor-000040", "visitor-000041"])
def test_a_value_that_is_no_json_object_is_no_profile(synced: Synced, vid: str) -> None:
    assert_error(synced.edge.get(f"/personalize?vid={vid}"), 404, "not_found")
    reply = synced.edge.get(f"/personalize?vid={vid}&i=Tk000000003")
    assert_profile(reply, synced.rows["t:Tk000000003"])


def test_the_forwarded_leads_visitor_is_still_known(synced: Synced) -> None:
    reply = synced.edge.get(f"/personalize?vid=visitor-000010&i={FORWARDED_TOKEN}")
    assert_profile(reply, synced.rows["v:visitor-000010"])


def test_only_the_public_fields_leave_the_edge(synced: Synced) -> None:
    reply = synced.edge.get("/personalize?vid=visitor-000020")
    stored = json.loads(synced.rows["v:visitor-000020"])
    assert reply.status == 200
    assert list(reply.json()) == list(PUBLIC)  # in local_kv.PUBLIC_FIELDS' order
    assert reply.json() == {k: stored[k] for k in PUBLIC}
    assert b"zoe@example.com" not in reply.body and b"91" not in reply.body
    assert "Zoë".encode() in reply.body  # UTF-8, not \u escapes (as orjson writes it)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "vid=",
        "vid=short",  # 5 < 8
        "vid=" + "a" * 65,
        "vid=visitor%20000001",
        "vid=visitor.000001",
        "vid=visitor-%C3%A9t%C3%A9",
        "i=Tk000000001",  # a token alone
    ],
)
def test_malformed_vid_is_400(synced: Synced, query: str) -> None:
    reply = synced.edge.get("/personalize?" + query, {"Origin": ALLOWED})
    assert_error(reply, 400, "invalid_vid")
    assert reply.json()["detail"] == "vid must be a visitor id"
    assert reply.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("token", ["Tk00000000", "Tk0000000001", "Tk00000000-", "Tk%200000000"])
def test_malformed_token_is_400(synced: Synced, token: str) -> None:
    reply = synced.edge.get(f"/personalize?vid=visitor-000001&i={token}")
    assert_error(reply, 400, "invalid_token")
    assert reply.json()["detail"] == "i must be an 11-character token"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Origin": ALLOWED}, ALLOWED),
        ({"Origin": "HTTPS://WWW.ACME.EXAMPLE/"}, ALLOWED),  # compared lowercased, no slash
        ({"Origin": "https://shop.eu.acme.example"}, "https://shop.eu.acme.example"),
        ({"Origin": "http://127.0.0.1:8000"}, "http://127.0.0.1:8000"),
        ({"Referer": ALLOWED + "/pricing?x=1"}, ALLOWED),  # no Origin: the Referer's
        ({"Origin": "null", "Referer": ALLOWED + "/"}, ALLOWED),
    ],
)
def test_an_allowed_origin_gets_cors_headers(
    synced: Synced, headers: dict[str, str], expected: str
) -> None:
    reply = synced.edge.get("/personalize?vid=visitor-000001", headers)
    assert reply.status == 200
    assert reply.all("access-control-allow-origin") == [expected]
    assert reply.all("vary") == ["Origin"]
    assert reply.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": FOREIGN},
        {"Origin": "https://acme.example"},  # *.acme.example is subdomains only
        {"Origin": "http://www.acme.example"},  # another scheme
        {"Origin": "https://www.acme.example.evil.example"},
        {"Referer": FOREIGN + "/"},
        {},
    ],
)
def test_a_foreign_origin_gets_no_cors_headers(synced: Synced, headers: dict[str, str]) -> None:
    reply = synced.edge.get("/personalize?vid=visitor-000001", headers)
    assert reply.status == 200  # the profile is not secret from curl; browsers are kept out
    assert "access-control-allow-origin" not in reply.headers
    assert "access-control-allow-credentials" not in reply.headers
    assert "vary" not in reply.headers


def test_preflight_from_an_allowed_origin(synced: Synced) -> None:
    reply = synced.edge.get(
        "/personalize?vid=visitor-000001",
        {"Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
        method="OPTIONS",
    )
    assert reply.status == 204 and reply.body == b""
    assert reply.headers["access-control-allow-origin"] == ALLOWED
    assert reply.headers["vary"] == "Origin"
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert reply.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert reply.headers["access-control-allow-headers"] == "Content-Type, X-OIE-Signature"
    assert reply.headers["access-control-max-age"] == "86400"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": FOREIGN}, {"Referer": ALLOWED + "/"}, {}],  # a preflight must name its Origin
)
def test_preflight_from_elsewhere_is_refused(synced: Synced, headers: dict[str, str]) -> None:
    reply = synced.edge.get("/personalize", headers, method="OPTIONS")
    assert_error(reply, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in reply.headers


@pytest.mark.parametrize("path", ["/", "/track", "/personalize/x", "/oie.js", "/personalizer"])
def test_other_paths_are_404(edge: Edge, path: str) -> None:
    reply = edge.get(path + "?vid=visitor-000001", {"Origin": ALLOWED})
    assert_error(reply, 404, "not_found")
    assert reply.json()["detail"] == "no such endpoint"


def test_a_trailing_slash_is_the_same_path(synced: Synced) -> None:
    reply = synced.edge.get("/personalize/?vid=visitor-000001")
    assert_profile(reply, synced.rows["v:visitor-000001"])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(edge: Edge, method: str) -> None:
    reply = edge.get("/personalize?vid=visitor-000001", method=method)
    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "GET, HEAD, OPTIONS"


def test_head_answers_like_get_without_a_body(synced: Synced) -> None:
    reply = synced.edge.get("/personalize?vid=visitor-000001", {"Origin": ALLOWED}, "HEAD")
    assert reply.status == 200 and reply.body == b""
    assert reply.headers["cache-control"] == "private, max-age=60"
    assert reply.headers["access-control-allow-origin"] == ALLOWED


def test_the_sdk_reads_back_values_metadata_and_expiry(synced: Synced) -> None:
    """The test API serves keys.list as Cloudflare does (pages, cursor, metadata,
    expiration): what `oie sync --reconcile` rebuilds its state from."""
    edge = synced.edge
    client = cloudflare.Cloudflare(api_token=edge.token, base_url=edge.base_url, max_retries=0)
    names, cursors = [], []
    cursor: str | None = None
    while True:
        page = client.kv.namespaces.keys.list(
            edge.namespace,
            account_id=edge.account,
            limit=10,
            prefix="",
            cursor=cursor or cloudflare.omit,
        )
        names += [k.name for k in page.result]
        for k in page.result:
            if k.name in synced.rows:
                assert k.metadata == {"h": md5(synced.rows[k.name])}
                # OIE_KV_TTL's default, 90 days, from the push (minutes ago at most)
                assert k.expiration is not None
                assert abs(k.expiration - (time.time() + 90 * 86400)) < 600
        cursor = page.result_info.cursor if page.result_info else None
        cursors.append(cursor)
        if not cursor:
            break
    assert set(synced.rows) <= set(names) and len(names) == len(set(names))
    assert len(cursors) >= 2  # more than one page of 10
    store = CloudflareKV(
        api_token=edge.token,
        account_id=edge.account,
        namespace_id=edge.namespace,
        base_url=edge.base_url,
        clock=SystemClock(),
    )
    assert store.get("t:Tk000000001") == synced.rows["t:Tk000000001"]
    assert store.get("t:TkNobody000") is None


def test_a_second_sync_sends_nothing(synced: Synced) -> None:
    again = runner.run(Settings.from_env(synced.edge.sync_env(synced.data_dir)))
    assert (again.pushed, again.deleted, again.write_requests) == (0, 0, 0)


def test_a_wrong_api_token_is_refused(edge: Edge, tmp_path: Path) -> None:
    write_edge_profiles(tmp_path, lead_rows(1, start=700))
    env = edge.sync_env(tmp_path, CLOUDFLARE_API_TOKEN="not-the-token")
    with pytest.raises(KVRejected, match="rejected the API token"):
        runner.run(Settings.from_env(env))
    assert edge.get("/personalize?vid=visitor-000700").status == 404


def test_a_lead_the_sync_deleted_is_404(edge: Edge, tmp_path: Path) -> None:
    """`oie sync` (the CLI, its own warehouse and state) pushes two leads; the next build
    drops one; the next `oie sync` deletes its keys, and the Worker no longer knows it."""
    rows = lead_rows(2, start=500)
    cli = Cli(cli_env(tmp_path / "data", **edge.sync_env(tmp_path / "data")), tmp_path)
    write_edge_profiles(cli.data_dir, rows)
    first = cli("sync", check=True)
    assert "pushed 4 key(s) (4 new" in first.stdout
    assert_profile(edge.get("/personalize?vid=visitor-000501"), profile(501))  # v:
    assert_profile(edge.get("/personalize?vid=fresh-visitor-1&i=Tk000000501"), profile(501))  # t:

    write_edge_profiles(cli.data_dir, {k: v for k, v in rows.items() if not k.endswith("501")})
    second = cli("sync", check=True)
    assert "deleted 2" in second.stdout, second.stdout
    assert_error(edge.get("/personalize?vid=visitor-000501"), 404, "not_found")
    assert_error(edge.get("/personalize?vid=fresh-visitor-1&i=Tk000000501"), 404, "not_found")
    # The other lead is untouched.
    assert_profile(edge.get("/personalize?vid=visitor-000500"), profile(500))
