"""What can stop a CRM sync or `oie crm setup`, with the exit code the command line gives
it (docs/cli.md): 2 for something the user must fix (a rejected token, a missing scope), 1
for something that may pass (HubSpot unreachable, still rate limited or failing after the
client's retries, a locked warehouse).

The classes derive from kv_sync's `KVError` because the warehouse side of the sync is
kv_sync's (`duckdb_warehouse.connect` raises `NothingBuilt` and `KVUnavailable`): callers
handle both families with one `except KVError` and read `exit_code`. Contacts HubSpot
refuses one by one stop nothing: they are reported in the sync's result and sent again by
the next run.
"""

from __future__ import annotations

from kv_sync.errors import KVError


class CRMError(KVError):
    exit_code = 1


class CRMRejected(CRMError):
    """HubSpot refused who we are (401) or what the token may do (403): retrying won't help."""

    exit_code = 2


class CRMUnavailable(CRMError):
    """HubSpot did not answer, or still answered 429 or 5xx after the client's retries; the
    next run picks up from the state recorded so far."""


class CRMRefused(CRMError):
    """Any other 4xx, with HubSpot's status and message. A batch upsert refused as a whole
    (400: one input HubSpot would not take) is split by the sync until that input is alone."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
