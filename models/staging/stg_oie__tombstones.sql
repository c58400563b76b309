-- One row per forgotten identifier (oie forget, POST /optout): its kind and keyed hash,
-- first recorded when. The other staging models anti-join the same source
-- (macros/tombstones.sql); this model shows the list to analysts and tests it.
with

source as (
    {% if oie_landing_has_files('tombstones') %}
    select * from {{ oie_landing_source('raw_tombstones') }}
    {% else %}
    {{ oie_empty_raw_tombstones() }}
    {% endif %}
),

renamed as (
    select
        kind,
        lower(key_hash) as key_hash,
        {{ oie_to_timestamp('created_at') }} as created_at
    from source
    where kind is not null and key_hash is not null
)

-- An identifier forgotten twice (an opt-out, then an erasure) is one row.
select
    kind || ':' || key_hash as tombstone_key,
    kind,
    key_hash,
    min(created_at) as created_at
from renamed
group by kind, key_hash
