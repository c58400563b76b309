"""The SQL of the CRM sync state, written once for DuckDB and BigQuery (kv_sync's `Dialect`:
parameters `$name` / `@name`, identifier quotes, type names).

`crm_sync_state(destination, key, hash, pushed_at)` holds, per destination, the hash each
contact was last confirmed with. One diff against `crm_contacts` returns only the contacts
to send, so unchanged ones never leave the warehouse; one MERGE records what a request
confirmed. `hash` is quoted everywhere: it is a reserved word on BigQuery.

Who is sent: an `eligible` contact (at or above the dbt var `oie_crm_min_level`, not
suppressed) that is new or changed, and a `below_level` contact that was sent before and
changed, so a score that fell shows truthfully in the CRM. A `below_level` contact never
sent stays out, and a `suppressed` one (bounced or unsubscribed) is never sent. Nothing is
ever deleted from the CRM.
"""

from __future__ import annotations

from kv_sync.state_sql import BIGQUERY, DUCKDB, Dialect

__all__ = ["BIGQUERY", "DUCKDB", "Dialect"]

STATE_TABLE = "crm_sync_state"
CRM_CONTACTS = "crm_contacts"
ACTIONS = ("new", "changed")


def create_state(d: Dialect, state: str) -> str:
    h = d.ident("hash")
    columns = (
        f"    destination {d.string} not null,\n"
        f"    key {d.string} not null,\n"
        f"    {h} {d.string},\n"
        "    pushed_at timestamp"
    )
    if d is BIGQUERY:
        return (
            f"create table if not exists {state} (\n{columns}\n)\ncluster by destination, key\n"
            "options (description = 'What the CRM sync last confirmed per destination "
            "(docs/crm.md)')"
        )
    return (
        f"create table if not exists {state} (\n{columns},\n    primary key (destination, key)\n)"
    )


def empty_state(d: Dialect) -> str:
    """A state relation with no rows: a dry run before the first sync diffs against it
    rather than create the table."""
    return (
        f"(select cast(null as {d.string}) as destination, cast(null as {d.string}) as key, "
        f"cast(null as {d.string}) as {d.ident('hash')} limit 0)"
    )


def diff(d: Dialect, contacts: str, state: str) -> str:
    """Rows (key, action, value, hash) for every contact to send to `destination`."""
    h = d.ident("hash")
    return f"""with

desired as (
    select
        key,
        value,
        {h},
        crm_status
    from {contacts}
    where crm_status in ('eligible', 'below_level')
),

synced as (
    select
        key,
        {h}
    from {state}
    where destination = {d.param("destination")}
)

select
    desired.key,
    case when synced.key is null then 'new' else 'changed' end as action,
    desired.value,
    desired.{h}
from desired
left join synced on desired.key = synced.key
where
    (desired.crm_status = 'eligible' or synced.key is not null)
    and (synced.key is null or synced.{h} is distinct from desired.{h})"""


def merge_source(d: Dialect) -> str:
    """The confirmed contacts as rows (key, hash, pushed_at): the keys and hashes from the
    row parameters, one `pushed_at` for all (they were confirmed by one request)."""
    h = d.ident("hash")
    if d is BIGQUERY:
        return (
            f"select pushed.key, pushed.{h}, @pushed_at as pushed_at\n"
            "    from unnest(@rows) as pushed"
        )
    return (
        "select\n"
        "        unnest(cast($keys as varchar[])) as key,\n"
        f"        unnest(cast($hashes as varchar[])) as {h},\n"
        # Epoch seconds in, a UTC timestamp out, to the microsecond as the column holds it.
        "        make_timestamp(cast(round(cast($pushed_at as double) * 1000000) as bigint))"
        " as pushed_at"
    )


def merge(d: Dialect, state: str) -> str:
    h = d.ident("hash")
    destination = d.param("destination")
    return f"""merge into {state} as synced
using (
    {merge_source(d)}
) as incoming
on synced.destination = {destination} and synced.key = incoming.key
when matched then update set
    {h} = incoming.{h},
    pushed_at = incoming.pushed_at
when not matched then
    insert (destination, key, {h}, pushed_at)
    values ({destination}, incoming.key, incoming.{h}, incoming.pushed_at)"""
