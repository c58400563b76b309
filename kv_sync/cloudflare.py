"""Workers KV through the official `cloudflare` SDK (5.x; the KV calls are the same in 4.x).

Every request goes through `_request`: paced under the account's 1,200 requests per
5 minutes (kv_sync/pacing.py), and retried here rather than by the SDK, whose own retries
sleep for real and honour Retry-After only up to 60 s. A RateLimitError means Cloudflare
blocked us (for 5 minutes when we went over): wait what it says in Retry-After, else 300 s,
and resume. A rejected token or an unknown namespace stops the sync at once.
"""

from __future__ import annotations

import email.utils
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import cloudflare
import httpx
from cloudflare.types.kv import NamespaceBulkUpdateResponse

from kv_sync.batches import wire
from kv_sync.clock import Clock
from kv_sync.errors import KVError, KVRejected, KVUnavailable
from kv_sync.pacing import Pacer
from kv_sync.store import Entry, ListedKey, WriteResult

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
BLOCK_S = 300.0  # what Cloudflare blocks an account for once it goes over the limit
LIST_PAGE = 1000  # keys.list's largest page
T = TypeVar("T")


class CloudflareKV:
    def __init__(
        self,
        *,
        api_token: str,
        account_id: str,
        namespace_id: str,
        clock: Clock,
        base_url: str | None = None,
        pacer: Pacer | None = None,
        on_wait: Callable[[float, str], None] | None = None,
        max_rate_limit_waits: int = 6,
        max_transient_retries: int = 4,
        timeout_s: float = 120.0,
    ) -> None:
        self.account_id = account_id
        self.namespace_id = namespace_id
        self._clock = clock
        self._on_wait = on_wait
        self._pacer = pacer or Pacer(clock, on_wait=on_wait)
        self._max_waits = max_rate_limit_waits
        self._max_retries = max_transient_retries
        # max_retries=0: the SDK would sleep on its own clock; `_request` retries instead.
        self._client = cloudflare.Cloudflare(
            api_token=api_token,
            base_url=base_url or DEFAULT_BASE_URL,
            max_retries=0,
            timeout=timeout_s,
        )
        # The SDK prefers a global API key or email from the environment over the token;
        # the token is the one credential this sync is configured with.
        self._client.api_key = None
        self._client.api_email = None
        self._client.user_service_key = None

    @property
    def name(self) -> str:
        return f"cloudflare:{self.account_id}/{self.namespace_id}"

    def get(self, key: str) -> str | None:
        def call() -> str | None:
            try:
                response = self._client.kv.namespaces.values.get(
                    key, account_id=self.account_id, namespace_id=self.namespace_id
                )
            except cloudflare.NotFoundError:
                return None
            return response.text()

        return self._request(call)

    def put_many(self, entries: Sequence[Entry]) -> WriteResult:
        pairs = [
            e.wire
            if e.wire is not None
            else wire(
                {
                    "key": e.key,
                    "value": e.value,
                    "expiration_ttl": e.expiration_ttl,
                    "metadata": dict(e.metadata),
                }
            )
            for e in entries
        ]
        body = b"[" + b",".join(pairs) + b"]"
        result = self._request(lambda: self._bulk_update(body))
        return WriteResult(frozenset(result.unsuccessful_keys or ()) if result else frozenset())

    def _bulk_update(self, body: bytes) -> NamespaceBulkUpdateResponse | None:
        """`kv.namespaces.bulk_update`'s request through the client's documented
        custom-request call, with the body already serialized: bulk_update walks every pair
        through the SDK's TypedDict transform and then serializes it again, 75 % of a
        10,000-key push here (bench/results/kv.md). Same path, body, auth and errors; the
        answer is parsed by the SDK's own response type."""
        response = self._client.put(
            f"/accounts/{self.account_id}/storage/kv/namespaces/{self.namespace_id}/bulk",
            cast_to=httpx.Response,
            content=body,
            options={"headers": {"Content-Type": "application/json"}},
        )
        result = response.json().get("result")
        return None if result is None else NamespaceBulkUpdateResponse.model_validate(result)

    def delete_many(self, keys: Sequence[str]) -> WriteResult:
        result = self._request(
            lambda: self._client.kv.namespaces.bulk_delete(
                self.namespace_id, account_id=self.account_id, body=list(keys)
            )
        )
        return WriteResult(frozenset(result.unsuccessful_keys or ()) if result else frozenset())

    def list(self, prefix: str) -> Iterator[ListedKey]:
        cursor: str | None = None
        while True:
            # One page per request, so each is paced; the SDK's auto-pagination is not.
            options: dict[str, Any] = {"limit": LIST_PAGE, "prefix": prefix}
            if cursor:
                options["cursor"] = cursor
            page = self._request(
                functools.partial(
                    self._client.kv.namespaces.keys.list,
                    self.namespace_id,
                    account_id=self.account_id,
                    **options,
                )
            )
            for key in page.result:
                yield ListedKey(key.name, key.expiration, key.metadata)
            cursor = page.result_info.cursor if page.result_info else None
            if not cursor or not page.result:
                return

    def _request(self, call: Callable[[], T]) -> T:
        blocked = failed = 0
        while True:
            self._pacer.acquire()
            try:
                return call()
            except cloudflare.RateLimitError as exc:
                blocked += 1
                if blocked > self._max_waits:
                    raise KVUnavailable(
                        f"Cloudflare still rate-limits this token after {self._max_waits} "
                        "waits; the next run resumes where this one stopped"
                    ) from None
                wait = _retry_after(exc.response.headers, self._clock.now()) or BLOCK_S
                self._wait(wait, f"Cloudflare rate limit (HTTP 429): waiting {wait:.0f} s")
            except (cloudflare.AuthenticationError, cloudflare.PermissionDeniedError) as exc:
                raise KVRejected(
                    f"Cloudflare rejected the API token (HTTP {exc.status_code}"
                    f"{_reason(exc)}): CLOUDFLARE_API_TOKEN needs Workers KV Storage: Edit "
                    f"on account {self.account_id}"
                ) from None
            except cloudflare.NotFoundError as exc:
                raise KVRejected(
                    f"Cloudflare has no KV namespace {self.namespace_id} in account "
                    f"{self.account_id} (HTTP 404{_reason(exc)}): check OIE_KV_NAMESPACE_ID "
                    "and CLOUDFLARE_ACCOUNT_ID"
                ) from None
            except (cloudflare.APIConnectionError, cloudflare.APIStatusError) as exc:
                status = getattr(exc, "status_code", None)
                transient = status is None or status in (408, 409) or status >= 500
                if not transient:
                    raise KVError(
                        f"Cloudflare refused the request (HTTP {status}{_reason(exc)})"
                    ) from None
                failed += 1
                what = f"HTTP {status}" if status else type(exc).__name__
                if failed > self._max_retries:
                    raise KVUnavailable(
                        f"Cloudflare KV did not take the request after {failed} tries "
                        f"({what}); the next run resumes where this one stopped"
                    ) from None
                wait = min(2.0**failed, 30.0)
                self._wait(wait, f"Cloudflare KV request failed ({what}): retry in {wait:.0f} s")

    def _wait(self, seconds: float, message: str) -> None:
        if self._on_wait is not None:
            self._on_wait(seconds, message)
        self._clock.sleep(seconds)


def _retry_after(headers: Any, now: float) -> float | None:
    """Seconds from Retry-After (a number or an HTTP date); None when absent or unreadable."""
    raw = headers.get("retry-after") if headers is not None else None
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now
    return max(seconds, 1.0)  # "now" or a date already past: try again, without spinning


def _reason(exc: Exception) -> str:
    """Cloudflare's own first error message, when its body has one."""
    body = getattr(exc, "body", None)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message")
        if message:
            return f": {message}"
    return ""
