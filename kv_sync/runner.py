"""One sync from the settings: which store (`OIE_KV`), which warehouse (`OIE_TARGET`), how
long keys live (`OIE_KV_TTL`). `oie sync` and `oie run`'s KV sync step both call `run`,
holding the `oie run` lock (the callers take it: it belongs to the command line)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest_function import local_kv
from kv_sync import reconcile
from kv_sync.clock import Clock, SystemClock
from kv_sync.local import LocalKV
from kv_sync.state import SyncState
from kv_sync.store import KVStore
from kv_sync.sync import Sync, SyncReport
from oie_core.settings import Settings, SettingsError

Notify = Callable[[str], None]
# What each Cloudflare setting is, for the one line that says it is missing.
_CLOUDFLARE_SETTINGS = (
    ("CLOUDFLARE_API_TOKEN", "cloudflare_api_token", "an API token with Workers KV Storage: Edit"),
    ("CLOUDFLARE_ACCOUNT_ID", "cloudflare_account_id", "the account that owns the namespace"),
    ("OIE_KV_NAMESPACE_ID", "kv_namespace_id", "the Workers KV namespace the Worker reads"),
)
DEFAULT_BQ_DATASET = "oie"  # profiles.yml's default for the dbt dataset


def check_bigquery_target(settings: Settings) -> None:
    """What every step after dbt needs of OIE_TARGET=bigquery (SettingsError: exit 2)."""
    if settings.target == "bigquery" and not settings.bq_project:
        raise SettingsError(
            "OIE_TARGET=bigquery needs OIE_BQ_PROJECT (the project of the dbt dataset)"
        )


def bigquery_warehouse(settings: Settings, client: Any = None) -> tuple[Any, str, str]:
    """(client, project, dataset) of the dbt warehouse on BigQuery, for the KV sync, the
    alerts and the CRM sync: the given client (tests) or one built from the settings."""
    if client is None:
        try:
            from kv_sync.bigquery_state import client_for

            client = client_for(settings.bq_project or "", settings.bq_endpoint)
        except ImportError:
            raise SettingsError(
                "OIE_TARGET=bigquery needs the bigquery extra: "
                "pip install 'outbound-intent-engine[bigquery]'"
            ) from None
    return client, settings.bq_project or "", settings.bq_dataset or DEFAULT_BQ_DATASET


def check(settings: Settings) -> None:
    """Refuse a configuration the sync cannot start with, in one line naming what is missing
    (SettingsError: exit code 2), before any lock is taken or anything is read."""
    if settings.kv == "cloudflare":
        missing = [
            f"{env} ({what})"
            for env, attr, what in _CLOUDFLARE_SETTINGS
            if not getattr(settings, attr)
        ]
        if missing:
            raise SettingsError(
                f"OIE_KV=cloudflare needs {' and '.join(missing)}; "
                "OIE_KV=local syncs to kv.sqlite instead"
            )
    check_bigquery_target(settings)


def open_store(
    settings: Settings, clock: Clock, on_wait: Callable[[float, str], None] | None = None
) -> KVStore:
    check(settings)
    if settings.kv == "cloudflare":
        from kv_sync.cloudflare import CloudflareKV

        return CloudflareKV(
            api_token=settings.cloudflare_api_token or "",
            account_id=settings.cloudflare_account_id or "",
            namespace_id=settings.kv_namespace_id or "",
            base_url=settings.cloudflare_base_url,
            clock=clock,
            on_wait=on_wait,
        )
    return LocalKV(local_store_path(settings.data_dir), clock)


def local_store_path(data_dir: Path) -> Path:
    return data_dir / local_kv.FILE_NAME


@contextmanager
def open_state(
    settings: Settings, *, dry_run: bool, clock: Clock, bigquery_client: Any = None
) -> Iterator[SyncState]:
    if settings.target == "bigquery":
        from kv_sync.bigquery_state import BigQueryState

        client, project, dataset = bigquery_warehouse(settings, bigquery_client)
        yield BigQueryState(client, project, dataset, read_only=dry_run)
        return
    from kv_sync.duckdb_state import open_state as open_duckdb

    with open_duckdb(settings.data_dir / "warehouse.duckdb", read_only=dry_run, clock=clock) as st:
        yield st


def run(
    settings: Settings,
    *,
    dry_run: bool = False,
    reconcile_state: bool = False,
    clock: Clock | None = None,
    notify: Notify | None = None,
    store: KVStore | None = None,
    bigquery_client: Any = None,
) -> SyncReport:
    """Diff, push, record; with `reconcile_state` the state is first rebuilt from the store."""
    if dry_run and reconcile_state:
        raise SettingsError("--reconcile rewrites the sync state: run it without --dry-run")
    clock = clock or SystemClock()
    report: SyncReport | None = None

    def on_wait(seconds: float, message: str) -> None:
        if report is not None:
            report.waited_s += seconds
        if notify is not None:
            notify(message)

    kv = store or open_store(settings, clock, on_wait)
    report = SyncReport(kv.name)
    with open_state(
        settings, dry_run=dry_run, clock=clock, bigquery_client=bigquery_client
    ) as state:
        if reconcile_state:
            report.reconciled = reconcile.rebuild(kv, state)
        elif not dry_run and isinstance(kv, LocalKV) and kv.fresh:
            # kv.sqlite is new (deleted, or a new machine): whatever the state remembers
            # pushing there is gone with the old file, so everything goes again.
            state.clear(kv.name)
        sync = Sync(kv, state, ttl_s=int(settings.kv_ttl_s), clock=clock, report=report)
        return sync.run(dry_run=dry_run)
