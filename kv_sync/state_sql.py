"""The SQL of the sync state, written once for DuckDB and BigQuery.

`kv_sync_state(store, key, hash, expires_at, pushed_at, lead_id)` holds, per destination
(`store`), the hash each key was last confirmed with, when it expires there and whose key
it is. One diff against `edge_profiles` returns only the keys to send (new, changed, about
to expire) or to delete (gone), so unchanged keys never leave the warehouse. One MERGE
records a confirmed batch: upserts for pushed keys, deletes for deleted ones.

`kv_sync_marks(store, synced_through, profiles_sql)` holds, per destination, the newest
change (`edge_profile_changes.changed_at`) the last complete sync had seen and a
fingerprint of the `edge_profiles` definition it diffed: the next diff then compares only
the keys of the leads changed since (kv_sync/scope.py), not every key.

The dialects differ in parameters (`$name` / `@name`), identifier quotes, type names and how
a list parameter becomes rows; everything else is the same text. `hash` is quoted
everywhere: it is a reserved word on BigQuery.
"""

from __future__ import annotations

from dataclasses import dataclass

STATE_TABLE = "kv_sync_state"
MARKS_TABLE = "kv_sync_marks"
EDGE_PROFILES = "edge_profiles"
CHANGES = "edge_profile_changes"
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
        "    pushed_at timestamp,\n"
        f"    lead_id {d.string}"
    )
    if d is BIGQUERY:
        return (
            f"create table if not exists {state} (\n{columns}\n)\ncluster by store, key\n"
            "options (description = 'What the KV sync last confirmed per destination "
            "(docs/kv.md)')"
        )
    return f"create table if not exists {state} (\n{columns},\n    primary key (store, key)\n)"


def add_lead_id(d: Dialect, state: str) -> str:
    """A state table made before keys carried their lead gains the column (null: unknown,
    which makes the next diff compare every key and then fill it in)."""
    return f"alter table {state} add column if not exists lead_id {d.string}"


def create_marks(d: Dialect, marks: str) -> str:
    columns = (
        f"    store {d.string} not null,\n"
        "    synced_through timestamp,\n"
        f"    profiles_sql {d.string}"
    )
    if d is BIGQUERY:
        return (
            f"create table if not exists {marks} (\n{columns}\n)\n"
            "options (description = 'Where the next diff of the KV sync starts, per destination "
            "(docs/kv.md)')"
        )
    return f"create table if not exists {marks} (\n{columns},\n    primary key (store)\n)"


def read_mark(d: Dialect, marks: str) -> str:
    return f"select synced_through, profiles_sql from {marks} where store = {d.param('store')}"


def write_mark(d: Dialect, marks: str) -> str:
    store = d.param("store")
    return f"""merge into {marks} as marked
using (select {store} as store) as incoming
on marked.store = incoming.store
when matched then update set
    synced_through = {d.param("synced_through")},
    profiles_sql = {d.param("profiles_sql")}
when not matched then
    insert (store, synced_through, profiles_sql)
    values (incoming.store, {d.param("synced_through")}, {d.param("profiles_sql")})"""


def clear_mark(d: Dialect, marks: str) -> str:
    return f"delete from {marks} where store = {d.param('store')}"


def newest_change(changes: str) -> str:
    return f"select max(changed_at) from {changes}"


def changed_leads(d: Dialect, changes: str, state: str) -> str:
    """The leads whose keys the next diff must compare: changed after `since` (their lead
    row rewritten, a visitor linked, moved or gone), or owning a key that expires before
    `refresh_before` in this store."""
    return f"""select lead_id
from {changes}
where changed_at > {d.param("since")}
union distinct
select lead_id
from {state}
where
    store = {d.param("store")}
    and expires_at < {d.param("refresh_before")}
    and lead_id is not null"""


def unowned_keys(d: Dialect, state: str) -> str:
    """Keys of this store whose lead is unknown (kept from before keys carried it, or
    rebuilt by --reconcile): while there are any, a diff compares every key."""
    return f"select count(*) from {state} where store = {d.param('store')} and lead_id is null"


def fill_lead_ids(d: Dialect, edge_profiles: str, state: str) -> str:
    """After a diff of every key: each key of the store takes its lead from edge_profiles."""
    return f"""update {state} as synced
set lead_id = desired.lead_id
from {edge_profiles} as desired
where
    synced.store = {d.param("store")}
    and synced.key = desired.key
    and synced.lead_id is distinct from desired.lead_id"""


def empty_state(d: Dialect) -> str:
    """A state relation with no rows: a dry run before the first sync diffs against it
    rather than create the table."""
    return (
        f"(select cast(null as {d.string}) as store, cast(null as {d.string}) as key, "
        f"cast(null as {d.string}) as {d.ident('hash')}, cast(null as timestamp) as expires_at, "
        f"cast(null as {d.string}) as lead_id limit 0)"
    )


def diff(
    d: Dialect, edge_profiles: str, state: str, *, leads: str | None = None, owned: bool = True
) -> str:
    """Rows (key, action, value, hash, lead_id) for every key to push or delete in `store`;
    a key whose state expires before `refresh_before` is pushed again (`refresh`).

    `leads` (an SQL list: `('a', 'b')`, or `unnest(@leads)`) narrows the diff to those
    leads' keys, on both sides: the keys they should have and the keys the store holds of
    them. A key that moved to another lead is then pushed again (`changed`), so the state
    always knows whose it is; a diff of every key fills that in afterwards instead
    (fill_lead_ids) rather than push every key of a state that did not know. `owned`:
    edge_profiles has `lead_id` (one written by an older version has not)."""
    h = d.ident("hash")
    lead = "lead_id" if owned else f"cast(null as {d.string}) as lead_id"
    moved = "synced.lead_id is distinct from desired.lead_id"
    desired_where = f"\n    where lead_id in {leads}" if leads else ""
    synced_lead = ",\n        lead_id" if leads else ""
    synced_where = f"\n        and lead_id in {leads}" if leads else ""
    moved_case = f"\n        when {moved} then 'changed'" if leads else ""
    moved_where = f"\n    or {moved}" if leads else ""
    return f"""with

desired as (
    select
        key,
        value,
        {h},
        {lead}
    from {edge_profiles}{desired_where}
),

synced as (
    select
        key,
        {h},
        expires_at{synced_lead}
    from {state}
    where store = {d.param("store")}{synced_where}
)

select
    coalesce(desired.key, synced.key) as key,
    case
        when synced.key is null then 'new'
        when desired.key is null then 'gone'
        when synced.{h} is distinct from desired.{h} then 'changed'{moved_case}
        else 'refresh'
    end as action,
    desired.value,
    desired.{h},
    desired.lead_id
from desired
full outer join synced on desired.key = synced.key
where
    synced.key is null
    or desired.key is null
    or synced.{h} is distinct from desired.{h}{moved_where}
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
    """The confirmed batch as rows (key, hash, expires_at, pushed_at, lead_id, gone): pushed
    keys from the row parameters, deleted keys from the `gone` list. A part with nothing in
    it is left out (google-cloud-bigquery cannot read an empty array of structs back from a
    job)."""
    h = d.ident("hash")
    parts = []
    if pushed and d is BIGQUERY:
        parts.append(
            f"select pushed.key, pushed.{h}, pushed.expires_at, pushed.pushed_at, "
            "pushed.lead_id, false as gone\n"
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
            "        unnest(cast($leads as varchar[])) as lead_id,\n"
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
            f"cast(null as timestamp) as pushed_at, {null_text} as lead_id, true as gone"
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
    pushed_at = incoming.pushed_at,
    lead_id = incoming.lead_id
when not matched and not incoming.gone then
    insert (store, key, {h}, expires_at, pushed_at, lead_id)
    values (
        {store}, incoming.key, incoming.{h}, incoming.expires_at, incoming.pushed_at,
        incoming.lead_id
    )"""


def clear_store(d: Dialect, state: str) -> str:
    return f"delete from {state} where store = {d.param('store')}"
