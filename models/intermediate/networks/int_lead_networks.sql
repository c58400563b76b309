-- One row per lead matched to a company network: the business network that is the lead's
-- company, and how it matched (docs/warehouse.md "Companies from networks"): `domain` when
-- the network's domain is the domain of the lead's email, else `name` when the network's
-- organisation and the lead's company are the same name once lowercased and stripped of
-- punctuation and legal forms (macros/networks.sql, oie_company_key). A lead several networks match takes a domain
-- match first, then the network with the most sessions. colleague_sessions counts the
-- anonymous sessions (visitors stitched to no lead) from that network in the score window;
-- company_network_sessions the lead's own. Company level only: an address never names a
-- person. A lead no business network matches has no row (its readers take no network and
-- 0 sessions): most leads never match one, and a row for each would make every run rewrite
-- the whole lead list.

with

-- recomputed by each branch, not stored: the domain branch needs only the addresses, the
-- name branch only the distinct companies
leads as {{ oie_inlined_cte() }} (
    select
        lead_id,
        lower({{ dbt.split_part('email', "'@'", 2) }}) as email_domain,
        company
    from {{ ref('stg_oie__leads') }}
),

business as (
    select
        network_org,
        org_key,
        ip_domain,
        sessions
    from {{ ref('int_networks') }}
    where network_class = 'business'
),

company_keys as (
    -- each company name keyed once, not once per lead: the key is five regular expressions
    select
        company,
        {{ oie_company_key('company') }} as company_key
    from (
        select distinct company
        from leads
        where company is not null
    ) as companies
),

matches as (
    select
        leads.lead_id,
        business.network_org,
        business.sessions,
        'domain' as company_match
    from leads
    inner join business on leads.email_domain = business.ip_domain
    union all
    select
        leads.lead_id,
        business.network_org,
        business.sessions,
        'name' as company_match
    from leads
    inner join company_keys on leads.company = company_keys.company
    inner join business on company_keys.company_key = business.org_key
),

ranked as (
    select
        lead_id,
        network_org,
        company_match,
        row_number() over (
            partition by lead_id
            order by
                case when company_match = 'domain' then 0 else 1 end asc,
                sessions desc,
                network_org asc
        ) as match_rank
    from matches
),

window_sessions as (
    select
        network_org,
        lead_id,
        count(*) as sessions
    from {{ ref('int_session_networks') }}
    where network_class = 'business'
    group by network_org, lead_id
)

select
    ranked.lead_id,
    ranked.network_org as network_company,
    ranked.company_match,
    coalesce(colleagues.sessions, 0) as colleague_sessions,
    coalesce(own.sessions, 0) as company_network_sessions
from ranked
left join window_sessions as colleagues
    on ranked.network_org = colleagues.network_org and colleagues.lead_id is null
left join window_sessions as own
    on ranked.network_org = own.network_org and ranked.lead_id = own.lead_id
where ranked.match_rank = 1
