-- One row per forgotten identifier (oie forget, POST /optout): its kind and keyed hash.
-- Every other staging model anti-joins this list (macros/tombstones.sql).
with

source as (
    {% if oie_landing_has_files('tombstones') %}
    select * from {{ source('oie', 'raw_tombstones') }}
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

select * from renamed
