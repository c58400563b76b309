"""The built Worker's own decisions, run in plain Node (no Miniflare) with a fake KV
binding: ALLOWED_ORIGINS read exactly as the local server reads OIE_ALLOWED_ORIGINS (every
pattern against every origin, compared with oie_core.settings.OriginPattern and
ingest_function.origins), a setting the server would refuse to start with, and how the
Worker reads KV (cacheTtl, one read for a known visitor, a value that is not JSON, an
outage)."""

from __future__ import annotations

import json
import subprocess
from itertools import product
from typing import Any

import pytest

from ingest_function.origins import OriginPolicy, page_origin
from ingest_function.validate import ID_RE
from oie_core.settings import Settings, SettingsError
from oie_core.tokens import TOKEN_RE
from tests.python.worker.support import PIXEL, SECRET, WORKER_JS, node, require_worker_build

# Imports the built Worker and calls its fetch() once per case, with a KV binding backed by
# a plain object; prints what each answer was and which KV reads it made.
RUNNER = r"""
import { readFileSync } from "node:fs";
const worker = (await import(process.argv[1])).default;
const input = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const c of input.cases) {
  const reads = [];
  const kv = {
    async get(key, options) {
      reads.push([key, options]);
      if ((input.broken || []).includes(key)) throw new Error("KV is down");
      const v = (input.kv || {})[key];
      return v === undefined ? null : JSON.parse(v);
    },
  };
  const env = { OIE_KV: kv, ALLOWED_ORIGINS: c.allowed };
  const req = new Request(c.url, { method: c.method || "GET", headers: c.headers || {} });
  const res = await worker.fetch(req, env);
  out.push({ status: res.status, headers: [...res.headers], body: await res.text(), reads });
}
process.stdout.write(JSON.stringify(out));
"""

PATTERNS = [
    "",
    "*",
    "https://www.acme.com",
    " HTTPS://WWW.ACME.COM/ ",
    "http://127.0.0.1:*",
    "http://localhost:8080",
    "https://*.acme.com",
    "https://*.acme.co.uk, http://x.test:*,,",
    "https://a-b.example:443",
]
ORIGINS = [
    "https://www.acme.com",
    "https://WWW.ACME.COM/",
    "https://acme.com",
    "https://shop.acme.com",
    "https://a.b.acme.com",
    "https://a_b.acme.com",
    "https://xacme.com",
    "https://www.acme.com:443",
    "http://www.acme.com",
    "https://www.acme.com.evil.com",
    "https://wwwxacme.com",
    "http://127.0.0.1",
    "http://127.0.0.1:8000",
    "http://localhost:8080",
    "http://localhost:80800",
    "https://a-b.example:443",
    "https://sub.acme.co.uk",
    "http://x.test:1",
    "ftp://www.acme.com",
    "null",
]
MALFORMED = ["acme.com", "https://acme.com/path", "*.acme.com", "https://", "https://a.com:x"]


def run(cases: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    require_worker_build()
    proc = subprocess.run(
        [
            node(),
            "--input-type=module",
            "-e",
            RUNNER,
            str(WORKER_JS),
        ],
        input=json.dumps({"cases": cases, **extra}),
        capture_output=True,
        text=True,
        cwd=PIXEL,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    for r in results:
        r["h"] = {k.lower(): v for k, v in r["headers"]}
    return results


def server_settings(allowed: str) -> Settings:
    """The local server's settings with this OIE_ALLOWED_ORIGINS (nothing is written)."""
    env = {"OIE_ALLOWED_ORIGINS": allowed, "OIE_DATA_DIR": "unused", "OIE_TOKEN_SECRET": SECRET}
    return Settings.from_env(env)


def local_acao(allowed: str, headers: dict[str, str]) -> str | None:
    """The Access-Control-Allow-Origin the local server sends (ingest_function/cors.py)."""
    policy = OriginPolicy(server_settings(allowed).allowed_origins)
    origin = page_origin(headers)
    return origin if policy.allowed(origin) else None


def test_allowed_origins_match_the_local_server_everywhere() -> None:
    cases: list[dict[str, Any]] = []
    for allowed, origin in product(PATTERNS, ORIGINS):
        for headers in ({"Origin": origin}, {"Referer": origin + "/page"}):
            cases.append({"allowed": allowed, "headers": headers})
    for c in cases:
        c["url"] = "https://collect.acme.com/personalize?vid=nobody-at-all"
    results = run(cases)
    wrong = []
    for c, r in zip(cases, results, strict=True):
        expected = local_acao(c["allowed"], c["headers"])
        got = r["h"].get("access-control-allow-origin")
        if got != expected:
            wrong.append(f"ALLOWED_ORIGINS={c['allowed']!r} {c['headers']}: {got} != {expected}")
    assert wrong == [], "\n".join(wrong)
    assert all(r["status"] == 404 for r in results)
    allowed_count = sum(1 for r in results if "access-control-allow-origin" in r["h"])
    assert 0 < allowed_count < len(results)  # the table holds both answers


@pytest.mark.parametrize("entry", MALFORMED)
def test_a_malformed_allowed_origins_refuses_every_request(entry: str) -> None:
    with pytest.raises(SettingsError):  # the local server would not start with it
        server_settings(entry)
    url = "https://collect.acme.com/personalize?vid=visitor-000001"
    (get, options) = run(
        [
            {
                "allowed": f"https://ok.example,{entry}",
                "url": url,
                "headers": {"Origin": "https://ok.example"},
            },
            {
                "allowed": entry,
                "url": url,
                "method": "OPTIONS",
                "headers": {"Origin": "https://ok.example"},
            },
        ]
    )
    for r in (get, options):
        assert r["status"] == 500
        assert json.loads(r["body"]) == {
            "error": "misconfigured",
            "detail": "ALLOWED_ORIGINS is not a list of scheme://host[:port]",
        }
        assert "access-control-allow-origin" not in r["h"] and r["reads"] == []


def test_kv_reads_use_the_edge_cache_and_stop_at_the_first_profile() -> None:
    profile = json.dumps({"first_name": "Ada", "company": "A"})
    kv = {"v:visitor-000001": profile, "t:Tk000000001": profile, "v:broken-json": "{not json"}
    base = "https://collect.acme.com/personalize?"
    known, first_visit, unknown, not_json = run(
        [
            {"allowed": "", "url": base + "vid=visitor-000001&i=Tk000000001"},
            {"allowed": "", "url": base + "vid=someone-new-1&i=Tk000000001"},
            {"allowed": "", "url": base + "vid=someone-new-1"},
            {"allowed": "", "url": base + "vid=broken-json&i=Tk000000001"},
        ],
        kv=kv,
    )
    edge_cache = {"type": "json", "cacheTtl": 60}
    assert known["status"] == 200 and known["reads"] == [["v:visitor-000001", edge_cache]]
    assert first_visit["status"] == 200
    assert [k for k, _ in first_visit["reads"]] == ["v:someone-new-1", "t:Tk000000001"]
    assert unknown["status"] == 404 and len(unknown["reads"]) == 1
    # A value that is not JSON is no profile (as local_kv.py): the token's key answers.
    assert not_json["status"] == 200 and json.loads(not_json["body"]) == {
        "first_name": "Ada",
        "company": "A",
    }


def test_a_kv_outage_is_a_500_without_details() -> None:
    (r,) = run(
        [
            {
                "allowed": "*",
                "url": "https://c.example/personalize?vid=visitor-000001",
                "headers": {"Origin": "https://x.example"},
            }
        ],
        broken=["v:visitor-000001"],
    )
    assert r["status"] == 500
    assert json.loads(r["body"]) == {"error": "internal", "detail": "internal error"}
    assert r["h"]["cache-control"] == "no-store"


def as_javascript(pattern: str) -> str:
    """Python's whole-string anchors in JavaScript's spelling: without the `m` flag, `^` and
    `$` there match only at the ends of the string (Python's `$` also before a final
    newline, which is why the server spells them \\A and \\Z)."""
    assert pattern.startswith("\\A") and pattern.endswith("\\Z"), pattern
    return "^" + pattern[2:-2] + "$"


def test_the_id_and_token_shapes_are_the_servers() -> None:
    """The Worker's two regexes are ID_RE and TOKEN_RE, character for character."""
    src = (PIXEL / "worker" / "src" / "index.ts").read_text()
    assert f"const ID_RE = /{as_javascript(ID_RE.pattern)}/;" in src
    assert f"const TOKEN_RE = /{as_javascript(TOKEN_RE.pattern)}/;" in src
