"""A Cloudflare API v4 stand-in for Workers KV on 127.0.0.1, for the real `cloudflare` SDK.

    with start_cf_standin(clock=fake.now) as cf:
        env = {"CLOUDFLARE_BASE_URL": cf.base_url, "CLOUDFLARE_API_TOKEN": cf.token, ...}
        ...
        cf.values()            # what the namespace holds: {key: value}
        cf.writes()            # each bulk write's keys, in order

The paths (under /client/v4/accounts/{a}/storage/kv/namespaces/{n}), bodies and answers are
Cloudflare's (the SDK's own types parse them):
    PUT  .../bulk          [{key, value, expiration_ttl, metadata}]
    POST .../bulk/delete   [key, ...]
    GET  .../keys?limit=&cursor=&prefix=
    GET  .../values/{key}
with Cloudflare's limits enforced (≤ 10,000 pairs and ≤ 100 MB per bulk request, keys
≤ 512 bytes, values ≤ 25 MiB, expiration_ttl ≥ 60: a 400, as the API answers) and the
account's rate limit when asked (`rate_limit(1200, 300)`: the request over the limit and
every request for the next 5 minutes get 429, no Retry-After).

Faults, each for the next matching requests: `fail_next(429, retry_after=7)`,
`fail_next(503)`, `unsuccessful({"v:x"}, times=2)` (reported in `unsuccessful_keys`, not
stored), `outage_after(1)` (every bulk write after the first: 502), a wrong token (403, as
Cloudflare answers a token without the permission), and `hold_write(n)`: the n-th bulk
write waits, unanswered and not applied, until the test `release()`s it (a kill between
requests).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ACCOUNT = "acct0123456789abcdef0123456789ab"
NAMESPACE = "ns0123456789abcdef0123456789abcd"
TOKEN = "test-cloudflare-token"
BASE_PATH = "/client/v4"
MAX_PAIRS = 10_000
MAX_BODY = 100 * 1000 * 1000
BLOCK_S = 300.0
_PATH = re.compile(
    r"^/client/v4/accounts/(?P<account>[^/]+)/storage/kv/namespaces/(?P<ns>[^/]+)"
    r"/(?P<what>bulk|bulk/delete|keys|values/(?P<key>.+))$"
)


@dataclass
class Stored:
    value: str
    expiration: float | None
    metadata: Any


@dataclass
class Call:
    method: str
    what: str  # bulk | bulk/delete | keys | values
    keys: list[str]
    status: int = 0


@dataclass
class Fault:
    status: int
    retry_after: str | None
    times: int


@dataclass
class CloudflareStandin:
    clock: Callable[[], float]
    token: str = TOKEN
    account: str = ACCOUNT
    namespace: str = NAMESPACE
    base_url: str = ""
    data: dict[str, Stored] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    flaky: dict[str, int] = field(default_factory=dict)
    limit: tuple[int, float] | None = None
    blocked_until: float = 0.0
    rejected: int = 0  # requests answered 429
    hold_at: int | None = None  # the n-th bulk write waits
    down_after: int | None = None  # bulk writes after the n-th get 502
    held: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _window: list[float] = field(default_factory=list)

    # --- what tests set ------------------------------------------------------------------
    def fail_next(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        self.faults.append(Fault(status, retry_after, times))

    def unsuccessful(self, keys: set[str], *, times: int = 1) -> None:
        for key in keys:
            self.flaky[key] = times

    def rate_limit(self, requests: int, window_s: float) -> None:
        self.limit = (requests, window_s)

    def block(self, seconds: float = BLOCK_S) -> None:
        """As after someone else spent the account's requests: 429 until the clock passes."""
        self.blocked_until = self.clock() + seconds

    def outage_after(self, n: int | None) -> None:
        """Every bulk write after the n-th is answered 502 (None: back up)."""
        self.down_after = n

    def hold_write(self, n: int) -> None:
        self.hold_at = n

    def release(self) -> None:
        self.go_on.set()

    # --- what tests read -----------------------------------------------------------------
    def values(self) -> dict[str, str]:
        now = self.clock()
        with self.lock:
            return {
                k: s.value
                for k, s in self.data.items()
                if s.expiration is None or s.expiration > now
            }

    def entry(self, key: str) -> Stored | None:
        with self.lock:
            return self.data.get(key)

    def writes(self) -> list[Call]:
        """Bulk writes and deletes that were answered 200, in order."""
        with self.lock:
            return [c for c in self.calls if c.what.startswith("bulk") and c.status == 200]

    def written_keys(self) -> list[str]:
        return [k for c in self.writes() if c.what == "bulk" for k in c.keys]

    def forget_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- the API -------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        m = _PATH.match(parts.path)
        if not m:
            return _error(404, 7003, "Could not route to " + parts.path)
        what = "values" if m.group("key") else m.group("what")
        call = Call(method, what, [])
        with self.lock:
            self.calls.append(call)
        status, extra, payload = self._answer(method, m, what, parts.query, headers, body, call)
        call.status = status
        return status, extra, payload

    def _answer(
        self,
        method: str,
        m: re.Match[str],
        what: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        call: Call,
    ) -> tuple[int, dict[str, str], bytes]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _error(403, 10000, "Authentication error")
        limited = self._rate_limited()
        if limited:
            return limited
        fault = self._fault() or self._outage(what)
        if fault:
            return fault
        if (m.group("account"), m.group("ns")) != (self.account, self.namespace):
            return _error(404, 10013, "namespace not found")
        if what == "bulk" and method == "PUT":
            return self._bulk_put(body, call)
        if what == "bulk/delete" and method == "POST":
            return self._bulk_delete(body, call)
        if what == "keys" and method == "GET":
            return self._keys(parse_qs(query))
        if what == "values" and method == "GET":
            return self._value(unquote(m.group("key")))
        return _error(405, 10000, f"{method} not allowed")

    def _rate_limited(self) -> tuple[int, dict[str, str], bytes] | None:
        now = self.clock()
        with self.lock:
            if now < self.blocked_until:
                self.rejected += 1
                return _error(429, 971, "Please wait and consider throttling your request speed")
            if self.limit is None:
                return None
            requests, window_s = self.limit
            self._window = [t for t in self._window if now - t < window_s]
            if len(self._window) >= requests:
                self.blocked_until = now + BLOCK_S
                self.rejected += 1
                return _error(429, 971, "Please wait and consider throttling your request speed")
            self._window.append(now)
        return None

    def _fault(self) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
        extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        status, headers, payload = _error(fault.status, 10000 + fault.status, "injected fault")
        return status, {**headers, **extra}, payload

    def _outage(self, what: str) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            writes = sum(1 for c in self.calls if c.what.startswith("bulk"))
        if what.startswith("bulk") and self.down_after is not None and writes > self.down_after:
            return _error(502, 10502, "bad gateway")
        return None

    def _held(self) -> bool:
        """The hold_at-th bulk write waits for release(); it is then dropped unapplied."""
        with self.lock:
            writes = sum(1 for c in self.calls if c.what.startswith("bulk"))
            hold = self.hold_at is not None and writes == self.hold_at
        if hold:
            self.held.set()
            self.go_on.wait(60)
        return hold

    def _bulk_put(self, body: bytes, call: Call) -> tuple[int, dict[str, str], bytes]:
        if len(body) > MAX_BODY:
            return _error(413, 10000, "request body over 100 MB")
        pairs = json.loads(body)
        call.keys = [p.get("key") for p in pairs]
        if len(pairs) > MAX_PAIRS:
            return _error(400, 10000, f"{len(pairs)} pairs: at most {MAX_PAIRS} per request")
        for p in pairs:
            problem = _pair_problem(p)
            if problem:
                return _error(400, 10000, problem)
        if self._held():
            return _error(502, 10000, "dropped while held")
        now = self.clock()
        failed = []
        with self.lock:
            for p in pairs:
                if self.flaky.get(p["key"], 0) > 0:
                    self.flaky[p["key"]] -= 1
                    failed.append(p["key"])
                    continue
                ttl = p.get("expiration_ttl")
                expiration = now + ttl if ttl else p.get("expiration")
                self.data[p["key"]] = Stored(p["value"], expiration, p.get("metadata"))
        return _ok({"successful_key_count": len(pairs) - len(failed), "unsuccessful_keys": failed})

    def _bulk_delete(self, body: bytes, call: Call) -> tuple[int, dict[str, str], bytes]:
        keys = json.loads(body)
        call.keys = list(keys)
        if len(keys) > MAX_PAIRS:
            return _error(400, 10000, f"{len(keys)} keys: at most {MAX_PAIRS} per request")
        if self._held():
            return _error(502, 10000, "dropped while held")
        failed = []
        with self.lock:
            for key in keys:
                if self.flaky.get(key, 0) > 0:
                    self.flaky[key] -= 1
                    failed.append(key)
                    continue
                self.data.pop(key, None)
        return _ok({"successful_key_count": len(keys) - len(failed), "unsuccessful_keys": failed})

    def _keys(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        limit = int(float(query.get("limit", ["1000"])[0]))
        if not 10 <= limit <= 1000:
            return _error(400, 10000, "limit must be between 10 and 1000")
        prefix = query.get("prefix", [""])[0]
        after = query.get("cursor", [""])[0]
        start = base64.urlsafe_b64decode(after.encode()).decode() if after else None
        now = self.clock()
        with self.lock:
            names = sorted(
                k
                for k, s in self.data.items()
                if k.startswith(prefix)
                and (s.expiration is None or s.expiration > now)
                and (start is None or k > start)
            )
            page = [
                {
                    "name": k,
                    **(
                        {"expiration": int(self.data[k].expiration)}
                        if self.data[k].expiration
                        else {}
                    ),
                    **(
                        {"metadata": self.data[k].metadata}
                        if self.data[k].metadata is not None
                        else {}
                    ),
                }
                for k in names[:limit]
            ]
        more = len(names) > limit
        cursor = base64.urlsafe_b64encode(page[-1]["name"].encode()).decode() if more else ""
        return _ok(page, result_info={"count": len(page), "cursor": cursor})

    def _value(self, key: str) -> tuple[int, dict[str, str], bytes]:
        stored = self.values().get(key)
        if stored is None:
            return _error(404, 10009, "get: 'key not found'")
        return 200, {"Content-Type": "application/octet-stream"}, stored.encode()


def _pair_problem(pair: dict[str, Any]) -> str | None:
    key, value = pair.get("key"), pair.get("value")
    if not isinstance(key, str) or not isinstance(value, str):
        return "each pair needs a string key and value"
    if len(key.encode()) > 512:
        return "key too long: at most 512 bytes"
    if len(value.encode()) > 25 * 1024 * 1024:
        return "value too large: at most 25 MiB"
    ttl = pair.get("expiration_ttl")
    if ttl is not None and ttl < 60:
        return "expiration_ttl must be at least 60"
    return None


def _ok(result: Any, **extra: Any) -> tuple[int, dict[str, str], bytes]:
    body = {"success": True, "errors": [], "messages": [], "result": result, **extra}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": []}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    standin: CloudflareStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the tests read calls instead
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.standin.answer(self.command, self.path, headers, body)
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        try:
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client is gone (a test killed it mid-request)
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = _serve


@contextlib.contextmanager
def start_cf_standin(clock: Callable[[], float] = time.time) -> Iterator[CloudflareStandin]:
    standin = CloudflareStandin(clock=clock)
    handler = type("Handler", (_Handler,), {"standin": standin})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    standin.base_url = f"http://127.0.0.1:{server.server_address[1]}{BASE_PATH}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield standin
    finally:
        standin.release()  # a held request must not keep the server from stopping
        server.shutdown()
        server.server_close()
        thread.join(10)
