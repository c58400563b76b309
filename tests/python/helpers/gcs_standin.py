"""A local stand-in of the Cloud Storage JSON API on 127.0.0.1, for google-cloud-storage
pointed at it with STORAGE_EMULATOR_HOST (the SDK then uses anonymous credentials).

It keeps what the dead-letter store relies on, with real HTTP and the real SDK: objects
with generations, create-only uploads (ifGenerationMatch=0) and every other
ifGenerationMatch / ifSourceGenerationMatch precondition answered 412 when it does not
hold, list by prefix, media download by generation, delete and copy. `age(name, s)` moves
an object's `updated` time back, so a lease can expire without a test sleeping.

    with running_gcs() as gcs:
        env = {"STORAGE_EMULATOR_HOST": gcs.url}
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit


@dataclass
class StoredObject:
    data: bytes
    generation: int
    updated: float
    content_type: str = "application/octet-stream"


@dataclass
class GcsStandIn:
    url: str = ""
    objects: dict[tuple[str, str], StoredObject] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _generations: Iterator[int] = field(default_factory=lambda: itertools.count(1_000_001))

    def names(self, bucket: str) -> list[str]:
        with self.lock:
            return sorted(n for b, n in self.objects if b == bucket)

    def data(self, bucket: str, name: str) -> bytes:
        return self.objects[(bucket, name)].data

    def put(self, bucket: str, name: str, data: bytes) -> None:
        """An object written by something other than the code under test."""
        with self.lock:
            self.objects[(bucket, name)] = StoredObject(data, next(self._generations), time.time())

    def age(self, bucket: str, name: str, seconds: float) -> None:
        with self.lock:
            self.objects[(bucket, name)].updated -= seconds

    def resource(self, bucket: str, name: str, obj: StoredObject) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(obj.updated, UTC).isoformat().replace("+00:00", "Z")
        return {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/{obj.generation}",
            "name": name,
            "bucket": bucket,
            "generation": str(obj.generation),
            "metageneration": "1",
            "size": str(len(obj.data)),
            "contentType": obj.content_type,
            "timeCreated": stamp,
            "updated": stamp,
        }


class _Handler(BaseHTTPRequestHandler):
    store: GcsStandIn  # set per server

    def log_message(self, *args: Any) -> None:
        pass

    # -- plumbing ----------------------------------------------------------------------------
    def _send(self, status: int, payload: Any = None, raw: bytes | None = None) -> None:
        body = (
            raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        self.send_response(status)
        kind = "application/octet-stream" if raw is not None else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"code": status, "message": message, "errors": []}})

    def _route(self) -> tuple[list[str], dict[str, str]]:
        parts = urlsplit(self.path)
        self.store.requests.append((self.command, self.path))
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return [unquote(p) for p in parts.path.strip("/").split("/")], query

    def _precondition(self, current: StoredObject | None, query: dict[str, str]) -> bool:
        wanted = query.get("ifGenerationMatch")
        if wanted is None:
            return True
        return (current.generation if current else 0) == int(wanted)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    # -- verbs -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        path, query = self._route()
        store = self.store
        with store.lock:
            if path[:4] == ["storage", "v1", "b", path[3]] and path[4:] == ["o"]:
                prefix = query.get("prefix", "")
                items = [
                    store.resource(b, n, o)
                    for (b, n), o in sorted(store.objects.items())
                    if b == path[3] and n.startswith(prefix)
                ]
                return self._send(200, {"kind": "storage#objects", "items": items})
            media = path[0] == "download" or query.get("alt") == "media"
            if path[0] == "download":
                path = path[1:]
            bucket, name = path[3], "/".join(path[5:])
            obj = store.objects.get((bucket, name))
            generation = query.get("generation")
            if obj is None or (generation is not None and int(generation) != obj.generation):
                return self._error(404, f"No such object: {bucket}/{name}")
            if media:
                return self._send(200, raw=obj.data)
            return self._send(200, store.resource(bucket, name, obj))

    def do_POST(self) -> None:
        path, query = self._route()
        body = self._body()
        store = self.store
        with store.lock:
            if path[0] == "upload":
                bucket = path[4]
                meta, data = _multipart(self.headers.get("Content-Type", ""), body)
                name = meta.get("name") or query.get("name", "")
                if not self._precondition(store.objects.get((bucket, name)), query):
                    return self._error(412, "At least one of the pre-conditions did not hold.")
                obj = StoredObject(
                    data,
                    next(store._generations),
                    time.time(),
                    meta.get("contentType") or "application/octet-stream",
                )
                store.objects[(bucket, name)] = obj
                return self._send(200, store.resource(bucket, name, obj))
            if "copyTo" in path:
                at = path.index("copyTo")
                bucket, name = path[3], "/".join(path[5:at])
                dest_bucket, dest = path[at + 2], "/".join(path[at + 4 :])
                source = store.objects.get((bucket, name))
                wanted_source = query.get("ifSourceGenerationMatch")
                if source is None:
                    return self._error(404, f"No such object: {bucket}/{name}")
                if wanted_source is not None and int(wanted_source) != source.generation:
                    return self._error(412, "At least one of the pre-conditions did not hold.")
                if not self._precondition(store.objects.get((dest_bucket, dest)), query):
                    return self._error(412, "At least one of the pre-conditions did not hold.")
                copy = StoredObject(
                    source.data, next(store._generations), time.time(), source.content_type
                )
                store.objects[(dest_bucket, dest)] = copy
                return self._send(200, store.resource(dest_bucket, dest, copy))
        self._error(404, f"not supported by the stand-in: POST {self.path}")

    def do_DELETE(self) -> None:
        path, query = self._route()
        bucket, name = path[3], "/".join(path[5:])
        with self.store.lock:
            obj = self.store.objects.get((bucket, name))
            generation = query.get("generation")
            # Unversioned: only the live generation exists.
            if obj is None or (generation is not None and int(generation) != obj.generation):
                return self._error(404, f"No such object: {bucket}/{name}")
            if not self._precondition(obj, query):
                return self._error(412, "At least one of the pre-conditions did not hold.")
            del self.store.objects[(bucket, name)]
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """(metadata, media) of a multipart/related upload as the SDK sends it."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    parts = [p for p in body.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
    meta_part, media_part = parts[0], parts[1]
    meta = json.loads(meta_part.split(b"\r\n\r\n", 1)[1].strip())
    head, media = media_part.split(b"\r\n\r\n", 1)
    for line in head.decode().splitlines():
        if line.lower().startswith("content-type:"):
            meta.setdefault("contentType", line.split(":", 1)[1].strip())
    return meta, media.removesuffix(b"\r\n")


@contextlib.contextmanager
def running_gcs() -> Iterator[GcsStandIn]:
    store = GcsStandIn()
    handler = type("Handler", (_Handler,), {"store": store})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    store.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield store
    finally:
        server.shutdown()
        server.server_close()


def object_path(bucket: str, name: str) -> str:
    return f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
