"""A pass-through HTTP proxy in front of the BigQuery emulator that answers chosen DML
statements the way BigQuery refuses them, with BigQuery's own error bodies: the emulator
has no streaming buffer and no permissions, and the real client must meet the real
responses (status, JSON error, reason) to prove how the code handles them.

`refuse("streaming_buffer", "raw_events", times=1)` makes the next DELETE that names
raw_events fail as a table with rows in the streaming buffer does (400 invalidQuery);
`refuse("forbidden", ...)` as an account without bigquery.tables.updateData (403);
`refuse("resources", ...)` as any other failure of a query (400 resourcesExceeded).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERRORS = {
    "streaming_buffer": (
        400,
        "invalidQuery",
        "INVALID_ARGUMENT",
        "UPDATE or DELETE statement over table {table} would affect rows in the streaming "
        "buffer, which is not supported",
    ),
    "resources": (
        400,
        "resourcesExceeded",
        "INVALID_ARGUMENT",
        "Resources exceeded during query execution: The query could not be executed in the "
        "allotted memory.",
    ),
    "forbidden": (
        403,
        "accessDenied",
        "PERMISSION_DENIED",
        "Access Denied: Table {table}: User does not have bigquery.tables.updateData "
        "permission for table {table}.",
    ),
}


@dataclass
class Refusals:
    rules: list[list] = field(default_factory=list)  # [kind, table, times left]
    refused: list[str] = field(default_factory=list)  # "kind table" per refusal
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.rules.clear()
            self.refused.clear()

    def refuse(self, kind: str, table: str, times: int = 1_000_000) -> None:
        with self.lock:
            self.rules.append([kind, table, times])

    def match(self, sql: str) -> tuple[str, str] | None:
        text = sql.strip().lower()
        if not text.startswith("delete"):
            return None
        with self.lock:
            for rule in self.rules:
                kind, table, left = rule
                if left > 0 and f".{table.lower()}`" in text:
                    rule[2] -= 1
                    self.refused.append(f"{kind} {table}")
                    return kind, table
        return None


def _handler(upstream: str, refusals: Refusals) -> type[BaseHTTPRequestHandler]:
    parts = urlsplit(upstream)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.command == "POST" and body:
                refused = self._refusal(body)
                if refused is not None:
                    return self._refuse(*refused)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            self.send_response(reply.status)
            for name, value in reply.getheaders():
                if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        def _refusal(self, body: bytes) -> tuple[str, str] | None:
            try:
                doc = json.loads(body)
            except ValueError:
                return None
            query = doc.get("query") if isinstance(doc, dict) else None
            if isinstance(query, str):  # jobs.query
                return refusals.match(query)
            config = (doc.get("configuration") or {}).get("query") or {}
            if isinstance(config.get("query"), str):  # jobs.insert
                return refusals.match(config["query"])
            return None

        def _refuse(self, kind: str, table: str) -> None:
            status, reason, code, message = ERRORS[kind]
            text = message.format(table=table)
            body = json.dumps(
                {
                    "error": {
                        "code": status,
                        "message": text,
                        "errors": [{"message": text, "domain": "global", "reason": reason}],
                        "status": code,
                    }
                }
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    return Proxy


@contextlib.contextmanager
def refusing_proxy(upstream: str) -> Iterator[tuple[str, Refusals]]:
    """(the proxy's URL, its Refusals) for the emulator at `upstream`."""
    refusals = Refusals()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, refusals))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", refusals
    finally:
        server.shutdown()
        server.server_close()
