"""HubSpot through its own client (`hubspot-api-client` 12): the property group and contact
properties `oie crm setup` makes, and the sync's batch upserts.

Retries are the client's: its urllib3 pool takes a `Retry` (the `retry=` of `HubSpot(...)`
becomes each generated client's `Configuration.retries`). 429 and 5xx are retried 5 times,
POST included (an upsert by email is idempotent; a property created twice answers 409,
which setup reads as "exists"), waiting what Retry-After says, else 0, 1, 2, 4, 8 s
(HubSpot's burst limits are per 10 s). After the last retry the last answer is handed back
(`raise_on_status=False`) so its status and HubSpot's message reach the one error line.

Each upsert input carries an `objectWriteTraceId` (its position in the batch): HubSpot's
documented way to get a multi-status answer (207, the client's
`BatchResponseSimplePublicUpsertObjectWithErrors`) whose `errors[].context` names the
inputs that failed, instead of one 400 for the whole batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.contacts import exceptions as contact_errors
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties import exceptions as property_errors
from urllib3.util import Retry

from crm_sync.errors import CRMError, CRMRefused, CRMRejected, CRMUnavailable
from crm_sync.properties import PropertySpec

DEFAULT_BASE_URL = "https://api.hubapi.com"
OBJECT_TYPE = "contacts"
ID_PROPERTY = "email"
MAX_BATCH_INPUTS = 100  # HubSpot's limit for a batch upsert
RETRIES = 5
TIMEOUT_S = (10.0, 120.0)  # connect, read
SCOPES = "crm.objects.contacts.write, crm.schemas.contacts.read and crm.schemas.contacts.write"
_API_ERRORS = (contact_errors.ApiException, property_errors.ApiException)
T = TypeVar("T")


def default_retry() -> Retry:
    return Retry(
        total=RETRIES,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # every method, POST included
        backoff_factor=0.5,
        respect_retry_after_header=True,
        retry_after_max=60,
        raise_on_status=False,
    )


class Contact(NamedTuple):
    """One upsert input: the normalized email (HubSpot's id for it) and the properties to
    write, all strings. A tuple: one is made per contact sent."""

    key: str
    properties: dict[str, str]


@dataclass(frozen=True)
class ExistingProperty:
    name: str
    type: str
    field_type: str
    group_name: str


class HubSpotCRM:
    def __init__(
        self,
        *,
        access_token: str,
        base_url: str = DEFAULT_BASE_URL,
        retry: Retry | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        client = HubSpot(
            access_token=access_token, host=self.base_url, retry=retry or default_retry()
        )
        # Each `client.crm...._api` access builds a new API client with its own connection
        # pool: take each once, so every request of a sync reuses one connection.
        self._batch = client.crm.contacts.batch_api
        self._groups = client.crm.properties.groups_api
        self._properties = client.crm.properties.core_api
        # Models built with this configuration skip the client's deep copy of a default one
        # per model (most of the time spent building 100 inputs).
        self._config = self._batch.api_client.configuration

    @property
    def name(self) -> str:
        """The destination the sync state is kept for: `hubspot:api.hubapi.com`."""
        return f"hubspot:{urlsplit(self.base_url).netloc}"

    # --- setup ---------------------------------------------------------------------------
    def group_exists(self, name: str) -> bool:
        try:
            self._call(
                lambda: self._groups.get_by_name(OBJECT_TYPE, name, _request_timeout=TIMEOUT_S),
                f"reading the property group {name}",
            )
        except CRMRefused as refused:
            if refused.status == 404:
                return False
            raise
        return True

    def create_group(self, name: str, label: str) -> bool:
        """False when HubSpot says it exists already (409)."""
        body = PropertyGroupCreate(name=name, label=label)
        return self._create(
            lambda: self._groups.create(OBJECT_TYPE, body, _request_timeout=TIMEOUT_S),
            f"creating the property group {name}",
        )

    def existing_properties(self) -> dict[str, ExistingProperty]:
        """Every contact property the account has (one request), by name."""
        answer = self._call(
            lambda: self._properties.get_all(OBJECT_TYPE, _request_timeout=TIMEOUT_S),
            "reading the contact properties",
        )
        return {
            p.name: ExistingProperty(p.name, p.type, p.field_type, p.group_name)
            for p in answer.results or ()
        }

    def create_property(self, spec: PropertySpec, group_name: str) -> bool:
        """False when HubSpot says it exists already (409, e.g. archived and so not listed)."""
        body = PropertyCreate(
            name=spec.name,
            label=spec.label,
            type=spec.type,
            field_type=spec.field_type,
            group_name=group_name,
            description=spec.description,
            options=[
                OptionInput(label=value.capitalize(), value=value, display_order=i, hidden=False)
                for i, value in enumerate(spec.options)
            ]
            or None,
        )
        return self._create(
            lambda: self._properties.create(OBJECT_TYPE, body, _request_timeout=TIMEOUT_S),
            f"creating the property {spec.name}",
        )

    def _create(self, call: Callable[[], Any], what: str) -> bool:
        try:
            self._call(call, what)
        except CRMRefused as refused:
            if refused.status == 409:
                return False
            raise
        return True

    # --- the sync ------------------------------------------------------------------------
    def upsert(self, contacts: Sequence[Contact]) -> dict[str, str]:
        """One batch upsert by email (at most MAX_BATCH_INPUTS). Returns the contacts HubSpot
        did not confirm, each with HubSpot's reason; raises CRMRefused (400) when HubSpot
        refused the batch as a whole."""
        config = self._config
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id_property=ID_PROPERTY,
                id=c.key,
                properties=c.properties,
                object_write_trace_id=str(i),
                local_vars_configuration=config,
            )
            for i, c in enumerate(contacts)
        ]
        body = BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=inputs, local_vars_configuration=config
        )
        answer = self._call(
            lambda: self._batch.upsert(
                batch_input_simple_public_object_batch_input_upsert=body,
                _request_timeout=TIMEOUT_S,
            ),
            "the contact upsert",
        )
        return unconfirmed(contacts, answer)

    def _call(self, call: Callable[[], T], what: str) -> T:
        try:
            return call()
        except _API_ERRORS as exc:
            raise _error(exc, what) from None
        except urllib3.exceptions.HTTPError as exc:  # unreachable, after the retries
            reason = getattr(exc, "reason", None) or exc
            raise CRMUnavailable(
                f"HubSpot did not answer at {self.base_url} after {RETRIES} retries "
                f"({type(reason).__name__}: {reason}); the next run resumes where this one "
                "stopped"
            ) from None


def unconfirmed(contacts: Sequence[Contact], answer: Any) -> dict[str, str]:
    """What a batch answer did not confirm: nothing for a 200; for a 207 the inputs each
    error's context names (by our objectWriteTraceId, or by the email itself). An error that
    names no input of ours leaves unconfirmed every input the answer's results do not list:
    only what HubSpot said it wrote is recorded as pushed."""
    errors = getattr(answer, "errors", None) or []
    if not errors:
        return {}
    traces = {str(i): c.key for i, c in enumerate(contacts)}
    keys = set(traces.values())
    failed: dict[str, str] = {}
    vague: list[str] = []
    for error in errors:
        reason = _batch_reason(error)
        named = [
            traces.get(value, value.lower())
            for values in (getattr(error, "context", None) or {}).values()
            for value in values or ()
            if isinstance(value, str)
        ]
        named = [key for key in named if key in keys]
        for key in named:
            failed.setdefault(key, reason)
        if not named:
            vague.append(reason)
    if vague:
        written = {traces.get(r.object_write_trace_id or "") for r in answer.results or ()}
        for c in contacts:
            if c.key not in written:
                failed.setdefault(c.key, vague[0])
    return failed


def _batch_reason(error: Any) -> str:
    message = getattr(error, "message", None) or "no message"
    category = getattr(error, "category", None)
    return f"{category}: {message}" if category else str(message)


def _error(exc: Any, what: str) -> CRMError:
    status = int(getattr(exc, "status", 0) or 0)
    message = _message(exc)
    if status == 401:
        return CRMRejected(f"HubSpot rejected the token (OIE_HUBSPOT_TOKEN): {message}")
    if status == 403:
        return CRMRejected(
            f"HubSpot refused {what} (HTTP 403: {message}): the private app behind "
            f"OIE_HUBSPOT_TOKEN needs the scopes {SCOPES}"
        )
    if status == 429 or status >= 500:
        limited = "still rate-limits" if status == 429 else "kept failing"
        return CRMUnavailable(
            f"HubSpot {limited} {what} after {RETRIES} retries (HTTP {status}: {message}); "
            "the next run resumes where this one stopped"
        )
    return CRMRefused(status, f"HubSpot refused {what} (HTTP {status}: {message})")


def _message(exc: Any) -> str:
    """HubSpot's own message from the error body, else the HTTP reason."""
    body = getattr(exc, "body", None)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("message"):
        return str(parsed["message"])
    return str(getattr(exc, "reason", None) or "no message")
