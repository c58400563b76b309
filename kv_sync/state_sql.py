"""The SQL of the sync state, written once for DuckDB and BigQuery.

`kv_sync_state(store, key, hash, expires_at, pushed_at)` holds, per destination (`store`),
the hash each key was last confirmed with and when it expires there. One diff against
`edge_profiles` returns only the keys to send (new, changed, about to expire) or to delete
(gone), so unchanged keys never leave the warehouse. One MERGE records a confirmed batch:
upserts for pushed keys, deletes for deleted ones.

The dialects differ in parameters (`$name` / `@name`), identifier quotes, type names and how
a list parameter becomes rows; everything else is the same text. `hash` is quoted
everywhere: it is a reserved word on BigQuery.
"""

from __future__ import annotations

from dataclasses import dataclass

STATE_TABLE = "kv_sync_state"
EDGE_PROFILES = "edge_profiles"
ACTIONS = ("new", "changed", "refresh", "gone")


@dataclass(frozen=True)
class Dialect:
    name: str
    param_prefix: str
    quote: str
    string: str

    def param(self, name: str) -> str:
        return self.param_prefix + name

    def ident(self, name: str) -> str:
        return f"{self.quote}{name}{self.quote}"


DUCKDB = Dialect("duckdb", "$", '"', "varchar")
BIGQUERY = Dialect("bigquery", "@", "`", "string")


def create_state(d: Dialect, state: str) -> str:
    h = d.ident("hash")
    columns = (
        f"    store {d.string} not null,\n"
        f"    key {d.string} not null,\n"
        f"    {h} {d.string},\n"
        "    expires_at timestamp,\n"
        "    pushed_at timestamp"
    )
    if d is BIGQUERY:
        return (
            f"create table if not exists {state} (\n{columns}\n)\ncluster by store, key\n"
            "options (description = 'What the KV sync last confirmed per destination "
            "(docs/kv.md)')"
        )
    return f"create table if not exists {state} (\n{columns},\n    primary key (store, key)\n)"


def empty_state(d: Dialect) -> str:
    """A state relation with no rows: a dry run before the first sync diffs against it
    rather than create the table."""
    return (
        f"(select cast(null as {d.string}) as store, cast(null as {d.string}) as key, "
        f"cast(null as {d.string}) as {d.ident('hash')}, cast(null as timestamp) as expires_at "
        "limit 0)"
    )


def diff(d: Dialect, edge_profiles: str, state: str) -> str:
    """Rows (key, action, value, hash) for every key to push or delete in `store`; a key
    whose state expires before `refresh_before` is pushed again (`refresh`)."""
    h = d.ident("hash")
    return f"""with

desired as (
    select
        key,
        value,
        {h}
    from {edge_profiles}
),

synced as (
    select
        key,
        {h},
        expires_at
    from {state}
    where store = {d.param("store")}
)

select
    coalesce(desired.key, synced.key) as key,
    case
        when synced.key is null then 'new'
        when desired.key is null then 'gone'
        when synced.{h} is distinct from desired.{h} then 'changed'
        else 'refresh'
    end as action,
    desired.value,
    desired.{h}
from desired
full outer join synced on desired.key = synced.key
where
    synced.key is null
    or desired.key is null
    or synced.{h} is distinct from desired.{h}
    or synced.expires_at is null
    or synced.expires_at < {d.param("refresh_before")}"""


def _epoch_to_timestamp(param: str, *, array: bool) -> str:
    """DuckDB: epoch seconds (double; null stays null), one or each of an array, as a
    TIMESTAMP holding UTC to the microsecond, as the state table's columns hold it."""
    epoch = f"unnest(cast({param} as double[]))" if array else f"cast({param} as double)"
    return f"make_timestamp(cast(round({epoch} * 1000000) as bigint))"


def merge_source(
    d: Dialect, *, pushed: bool = True, gone: bool = True, shared_times: bool = False
) -> str:
    """The confirmed batch as rows (key, hash, expires_at, pushed_at, gone): pushed keys from
    the row parameters, deleted keys from the `gone` list. A part with nothing in it is left
    out (google-cloud-bigquery cannot read an empty array of structs back from a job)."""
    h = d.ident("hash")
    parts = []
    if pushed and d is BIGQUERY:
        parts.append(
            f"select pushed.key, pushed.{h}, pushed.expires_at, pushed.pushed_at, false as gone\n"
            "    from unnest(@rows) as pushed"
        )
    elif pushed:
        parts.append(
            "select\n"
            "        unnest(cast($keys as varchar[])) as key,\n"
            f"        unnest(cast($hashes as varchar[])) as {h},\n"
            # Epoch seconds in, UTC timestamps out: no datetime object per key in Python.
            f"        {_epoch_to_timestamp('$expires', array=not shared_times)} as expires_at,\n"
            f"        {_epoch_to_timestamp('$pushed', array=not shared_times)} as pushed_at,\n"
            "        false as gone"
        )
    if gone:
        null_text, gone_keys = (
            ("cast(null as string)", "gone_key as key")
            if d is BIGQUERY
            else ("cast(null as varchar)", "unnest(cast($gone as varchar[])) as key")
        )
        parts.append(
            f"select {gone_keys}, {null_text} as {h}, cast(null as timestamp) as expires_at, "
            "cast(null as timestamp) as pushed_at, true as gone"
            + ("\n    from unnest(@gone) as gone_key" if d is BIGQUERY else "")
        )
    if not parts:
        raise ValueError("a merge needs pushed or gone keys")
    return "\n    union all\n    ".join(parts)


def merge(
    d: Dialect, state: str, *, pushed: bool = True, gone: bool = True, shared_times: bool = False
) -> str:
    """`shared_times` (DuckDB): `$expires` and `$pushed` are one value for every key, as
    after one bulk request, rather than an array each (cheaper to pass)."""
    h = d.ident("hash")
    store = d.param("store")
    return f"""merge into {state} as synced
using (
    {merge_source(d, pushed=pushed, gone=gone, shared_times=shared_times)}
) as incoming
on synced.store = {store} and synced.key = incoming.key
when matched and incoming.gone then delete
when matched then update set
    {h} = incoming.{h},
    expires_at = incoming.expires_at,
    pushed_at = incoming.pushed_at
when not matched and not incoming.gone then
    insert (store, key, {h}, expires_at, pushed_at)
    values ({store}, incoming.key, incoming.{h}, incoming.expires_at, incoming.pushed_at)"""


def clear_store(d: Dialect, state: str) -> str:
    return f"delete from {state} where store = {d.param('store')}"
