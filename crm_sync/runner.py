"""The CRM sync and setup from the settings: which HubSpot (`OIE_HUBSPOT_TOKEN`,
`OIE_HUBSPOT_BASE_URL`) and which warehouse (`OIE_TARGET`). `oie crm sync` and `oie run`'s
crm sync step both call `run` holding the `oie run` lock (the callers take it: it belongs
to the command line); `setup` touches only HubSpot and needs no lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from urllib3.util import Retry

from crm_sync import setup as properties_setup
from crm_sync.hubspot import SCOPES, HubSpotCRM
from crm_sync.setup import SetupReport
from crm_sync.state import SyncState
from crm_sync.sync import CRM, Sync, SyncReport
from kv_sync.clock import Clock, SystemClock
from kv_sync.runner import bigquery_warehouse, check_bigquery_target
from oie_core.settings import Settings, SettingsError

NO_TOKEN = (
    "OIE_HUBSPOT_TOKEN is not set: the access token of a HubSpot private app with the "
    f"scopes {SCOPES} (docs/crm.md)"
)
# `oie run`'s step detail when the sync is not configured.
NOT_CONFIGURED = "not configured (OIE_HUBSPOT_TOKEN is not set)"


def configured(settings: Settings) -> bool:
    return bool(settings.hubspot_token)


def check(settings: Settings) -> None:
    """Refuse, in one line (SettingsError: exit code 2), what the sync cannot start with,
    before any lock is taken or anything is read."""
    if not configured(settings):
        raise SettingsError(NO_TOKEN)
    check_bigquery_target(settings)


def open_crm(settings: Settings, retry: Retry | None = None) -> HubSpotCRM:
    if not configured(settings):
        raise SettingsError(NO_TOKEN)
    return HubSpotCRM(
        access_token=settings.hubspot_token or "",
        base_url=settings.hubspot_base_url,
        retry=retry,
    )


@contextmanager
def open_state(
    settings: Settings, *, dry_run: bool, clock: Clock, bigquery_client: Any = None
) -> Iterator[SyncState]:
    if settings.target == "bigquery":
        from crm_sync.bigquery_state import BigQueryState

        client, project, dataset = bigquery_warehouse(settings, bigquery_client)
        yield BigQueryState(client, project, dataset, read_only=dry_run)
        return
    from crm_sync.duckdb_state import open_state as open_duckdb

    with open_duckdb(settings.data_dir / "warehouse.duckdb", read_only=dry_run, clock=clock) as st:
        yield st


def run(
    settings: Settings,
    *,
    dry_run: bool = False,
    clock: Clock | None = None,
    crm: CRM | None = None,
    bigquery_client: Any = None,
) -> SyncReport:
    """Diff, upsert, record (a dry run only diffs and counts)."""
    check(settings)
    clock = clock or SystemClock()
    crm = crm or open_crm(settings)
    with open_state(
        settings, dry_run=dry_run, clock=clock, bigquery_client=bigquery_client
    ) as state:
        return Sync(crm, state, clock=clock).run(dry_run=dry_run)


def setup(settings: Settings, *, crm: HubSpotCRM | None = None) -> SetupReport:
    return properties_setup.ensure(crm or open_crm(settings))
