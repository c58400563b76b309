"""A HubSpot API stand-in on 127.0.0.1 for the real `hubspot-api-client`.

    with start_hubspot_standin() as hs:
        env = {"OIE_HUBSPOT_BASE_URL": hs.base_url, "OIE_HUBSPOT_TOKEN": hs.token, ...}
        ...
        hs.contacts            # {email: {property: value}} as HubSpot holds them
        hs.upserts()           # each answered batch upsert's emails, in order

The paths, bodies and answers are HubSpot's CRM v3 (the client's own models parse them):
    GET  /crm/v3/properties/contacts/groups[/{name}]    POST .../groups
    GET  /crm/v3/properties/contacts[/{name}]           POST /crm/v3/properties/contacts
    POST /crm/v3/objects/contacts/batch/upsert          {"inputs": [{idProperty, id,
                                                          properties, objectWriteTraceId}]}
checked as HubSpot checks them: `Authorization: Bearer <token>` (401 with HubSpot's
message otherwise), at most 100 inputs per batch, idProperty `email`, every property known
to the account and its value readable as the property's type (number, one of an
enumeration's options, a date-time). An input HubSpot would refuse makes the whole batch a
400, unless every input carries an objectWriteTraceId: then the answer is a 207 whose
`errors[].context.objectWriteTraceId` names the failed inputs and `results` the written
ones (HubSpot's documented multi-status). Creating what exists answers 409.

Faults, for the next matching requests: `fail_next(429, retry_after="0", times=2)`,
`fail_next(503, times=9)`, `fail_next(401)`; `fail_inputs({"a@x.com": "..."}, times=1)`
(those inputs refused as invalid); `outage_after(1)` (every batch upsert after the first:
503); `multi_status = False` (a refused input makes its batch a 400 whatever it carries).
Every request is recorded (`calls`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

TOKEN = "pat-na1-00000000-test-hubspot-token"
MAX_INPUTS = 100
NOW = "2026-12-01T09:00:00.000Z"
_GROUPS = re.compile(r"^/crm/v3/properties/contacts/groups(?:/(?P<name>[^/]+))?$")
_PROPERTIES = re.compile(r"^/crm/v3/properties/contacts(?:/(?P<name>[^/]+))?$")
_UPSERT = "/crm/v3/objects/contacts/batch/upsert"
# What a fresh HubSpot account has: the default group and a few default contact properties.
_DEFAULT_GROUPS = {"contactinformation": "Contact information"}
_DEFAULT_PROPERTIES = {
    "email": ("string", "text"),
    "firstname": ("string", "text"),
    "lastname": ("string", "text"),
    "lifecyclestage": ("enumeration", "radio"),
}


@dataclass
class Call:
    method: str
    path: str
    status: int = 0
    emails: list[str] = field(default_factory=list)  # a batch upsert's inputs
    body: Any = None


@dataclass
class Fault:
    status: int
    retry_after: str | None
    times: int


@dataclass
class HubSpotStandin:
    token: str = TOKEN
    base_url: str = ""
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)  # the oie_* values
    object_ids: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    refuse: dict[str, tuple[str, int]] = field(default_factory=dict)
    multi_status: bool = True  # False: an input refused makes the batch a 400, trace ids or not
    down_after: int | None = None  # batch upserts after the n-th get 503
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        for name, label in _DEFAULT_GROUPS.items():
            self.groups[name] = _group(name, label, 0)
        for name, (kind, field_type) in _DEFAULT_PROPERTIES.items():
            self.properties[name] = _property(
                {"name": name, "label": name, "type": kind, "fieldType": field_type},
                "contactinformation",
                hubspot_defined=True,
            )

    # --- what tests set ------------------------------------------------------------------
    def fail_next(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        self.faults.append(Fault(status, retry_after, times))

    def outage_after(self, n: int | None) -> None:
        """Every batch upsert after the n-th is answered 503 (None: back up)."""
        self.down_after = n

    def fail_inputs(self, reasons: dict[str, str], *, times: int = 1) -> None:
        """These emails are refused (VALIDATION_ERROR with the given message) the next
        `times` times they are sent."""
        for email, message in reasons.items():
            self.refuse[email] = (message, times)

    # --- what tests read -----------------------------------------------------------------
    def upserts(self) -> list[list[str]]:
        """Each batch upsert answered 200 or 207, its inputs' emails in order."""
        with self.lock:
            return [c.emails for c in self.calls if c.path == _UPSERT and c.status in (200, 207)]

    def created(self) -> list[str]:
        """The names of the groups and properties created (201), in order."""
        with self.lock:
            return [c.body["name"] for c in self.calls if c.method == "POST" and c.status == 201]

    def forget_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- the API -------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        route = urlsplit(path).path
        call = Call(method, route)
        with self.lock:
            self.calls.append(call)
        try:
            call.body = json.loads(body) if body else None
        except ValueError:
            call.body = None
        status, extra, payload = self._answer(method, route, headers, call)
        call.status = status
        return status, extra, payload

    def _answer(
        self, method: str, route: str, headers: dict[str, str], call: Call
    ) -> tuple[int, dict[str, str], bytes]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _unauthorized()
        fault = self._fault() or self._outage(route)
        if fault:
            return fault
        if route == _UPSERT and method == "POST":
            return self._upsert(call)
        if m := _GROUPS.match(route):
            return self._groups(method, m.group("name"), call.body)
        if m := _PROPERTIES.match(route):
            return self._properties(method, m.group("name"), call.body)
        return _error(404, "OBJECT_NOT_FOUND", f"No route for {method} {route}")

    def _fault(self) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
        if fault.status == 401:
            return _unauthorized()
        if fault.status == 429:
            status, headers, payload = 429, *_rate_limited()
        else:
            status, headers, payload = _error(fault.status, "INTERNAL_ERROR", "internal error")
        if fault.retry_after is not None:
            headers = {**headers, "Retry-After": fault.retry_after}
        return status, headers, payload

    def _outage(self, route: str) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            upserts = sum(1 for c in self.calls if c.path == _UPSERT)
        if route == _UPSERT and self.down_after is not None and upserts > self.down_after:
            return _error(503, "INTERNAL_ERROR", "service unavailable")
        return None

    def _groups(
        self, method: str, name: str | None, body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            if method == "GET" and name is None:
                return _ok({"results": list(self.groups.values())})
            if method == "GET":
                group = self.groups.get(unquote(name or ""))
                if group is None:
                    return _error(404, "OBJECT_NOT_FOUND", f"Unable to find group {name}")
                return _ok(group)
            if method == "POST" and name is None:
                if not body or not body.get("name") or not body.get("label"):
                    return _error(400, "VALIDATION_ERROR", "a group needs a name and a label")
                if body["name"] in self.groups:
                    return _error(409, "CONFLICT", f"Group {body['name']} already exists")
                group = _group(body["name"], body["label"], body.get("displayOrder", -1))
                self.groups[body["name"]] = group
                return _ok(group, 201)
        return _error(405, "VALIDATION_ERROR", f"{method} not allowed")

    def _properties(
        self, method: str, name: str | None, body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            if method == "GET" and name is None:
                return _ok({"results": list(self.properties.values())})
            if method == "GET":
                found = self.properties.get(unquote(name or ""))
                if found is None:
                    return _error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
                return _ok(found)
            if method == "POST" and name is None:
                problem = self._property_problem(body or {})
                if problem:
                    return _error(400, "VALIDATION_ERROR", problem)
                if body["name"] in self.properties:
                    return _error(409, "OBJECT_ALREADY_EXISTS", f"{body['name']} already exists")
                created = _property(body, body["groupName"])
                self.properties[body["name"]] = created
                return _ok(created, 201)
        return _error(405, "VALIDATION_ERROR", f"{method} not allowed")

    def _property_problem(self, body: dict[str, Any]) -> str | None:
        for key in ("name", "label", "type", "fieldType", "groupName"):
            if not body.get(key):
                return f"Property {key} is required"
        if body["groupName"] not in self.groups:
            return f"Property group {body['groupName']} does not exist"
        pairs = {
            "string": {"text", "textarea"},
            "number": {"number"},
            "datetime": {"date"},
            "date": {"date"},
            "enumeration": {"select", "radio", "checkbox"},
        }
        if body["fieldType"] not in pairs.get(body["type"], set()):
            return f"fieldType {body['fieldType']} does not go with type {body['type']}"
        if body["type"] == "enumeration" and not body.get("options"):
            return "an enumeration needs options"
        return None

    def _upsert(self, call: Call) -> tuple[int, dict[str, str], bytes]:
        inputs = (call.body or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return _error(400, "VALIDATION_ERROR", "inputs is required")
        call.emails = [str(i.get("id")) for i in inputs]
        if len(inputs) > MAX_INPUTS:
            return _error(400, "VALIDATION_ERROR", f"at most {MAX_INPUTS} inputs per batch")
        if any(i.get("idProperty") != "email" for i in inputs):
            return _error(400, "VALIDATION_ERROR", "idProperty must be a unique property")
        multi_status = self.multi_status and all(i.get("objectWriteTraceId") for i in inputs)
        results, errors = [], []
        with self.lock:
            for i in inputs:
                problem = self._input_problem(i)
                if problem is None:
                    results.append(self._write(i))
                elif not multi_status:
                    # Without trace ids HubSpot answers one 400 for the batch, writing none.
                    return _error(400, "VALIDATION_ERROR", problem)
                else:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": problem,
                            "context": {"objectWriteTraceId": [i["objectWriteTraceId"]]},
                            "errors": [{"message": problem, "code": "INVALID_VALUE"}],
                            "links": {},
                        }
                    )
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "requestedAt": NOW,
            "startedAt": NOW,
            "completedAt": NOW,
            "links": {},
        }
        if errors:
            body.update(errors=errors, numErrors=len(errors))
            return _ok(body, 207)
        return _ok(body)

    def _input_problem(self, item: dict[str, Any]) -> str | None:
        email = item.get("id")
        if not isinstance(email, str) or "@" not in email:
            return f"Email address {email} is invalid"
        refused = self.refuse.get(email)
        if refused is not None:
            message, times = refused
            if times > 1:
                self.refuse[email] = (message, times - 1)
            else:
                del self.refuse[email]
            return message
        for name, value in (item.get("properties") or {}).items():
            known = self.properties.get(name)
            if known is None:
                return f'Property "{name}" does not exist'
            if not isinstance(value, str) or not _readable(value, known):
                return f"{value!r} is not a valid {known['type']} for {name}"
        return None

    def _write(self, item: dict[str, Any]) -> dict[str, Any]:
        email = item["id"]
        new = email not in self.object_ids
        if new:
            self.object_ids[email] = str(next(self._ids))
        self.contacts.setdefault(email, {}).update(item.get("properties") or {})
        result = {
            "id": self.object_ids[email],
            "new": new,
            "archived": False,
            "createdAt": NOW,
            "updatedAt": NOW,
            "properties": {"email": email, **(item.get("properties") or {})},
        }
        if item.get("objectWriteTraceId"):
            result["objectWriteTraceId"] = item["objectWriteTraceId"]
        return result


def _readable(value: str, prop: dict[str, Any]) -> bool:
    if prop["type"] == "number":
        try:
            float(value)
        except ValueError:
            return False
        return True
    if prop["type"] == "enumeration":
        return value in {o["value"] for o in prop.get("options") or ()}
    if prop["type"] == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value.isdigit()  # epoch milliseconds are accepted too
        return True
    return True


def _group(name: str, label: str, display_order: int) -> dict[str, Any]:
    return {"name": name, "label": label, "displayOrder": display_order, "archived": False}


def _property(
    body: dict[str, Any], group_name: str, *, hubspot_defined: bool = False
) -> dict[str, Any]:
    return {
        "name": body["name"],
        "label": body["label"],
        "type": body["type"],
        "fieldType": body["fieldType"],
        "groupName": group_name,
        "description": body.get("description", ""),
        "options": [
            {
                "label": o["label"],
                "value": o["value"],
                "displayOrder": o.get("displayOrder", i),
                "hidden": o.get("hidden", False),
            }
            for i, o in enumerate(body.get("options") or ())
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": body["name"] == "email",
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": False,
        "archived": False,
        "createdAt": NOW,
        "updatedAt": NOW,
    }


def _ok(body: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(body).encode()


def _error(status: int, category: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    return status, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(body).encode()


def _unauthorized() -> tuple[int, dict[str, str], bytes]:
    return _error(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication "
        "and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )


def _rate_limited() -> tuple[dict[str, str], bytes]:
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": "TEN_SECONDLY_ROLLING",
    }
    return {"Content-Type": "application/json;charset=utf-8"}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    standin: HubSpotStandin
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
        except OSError:  # the client is gone
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


@contextlib.contextmanager
def start_hubspot_standin() -> Iterator[HubSpotStandin]:
    standin = HubSpotStandin()
    handler = type("Handler", (_Handler,), {"standin": standin})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    standin.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
