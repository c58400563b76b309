-- One row per named network: the organisation behind visitors' addresses (an ISP database's
-- organisation, else the autonomous system's), classified business | isp | mobile | hosting
-- | education | government, in this order of evidence (docs/warehouse.md "Companies from
-- networks"):
--   1. the databases' own type fields (user_type, connection_type), the most frequent over
--      the network's sessions;
--   2. seeds/oie_network_classes.csv by ASN, for a network named by its AS;
--   3. the name patterns oie_isp_org_patterns, oie_mobile_org_patterns,
--      oie_hosting_org_patterns;
--   4. a network seen with leads of at least oie_isp_min_companies different companies is
--      an ISP (a company's network carries one company);
--   5. any other named network is a business.
-- Rebuilt whole from int_sessions: one narrow aggregate per run.

{% set patterns = [
    ('isp', var('oie_isp_org_patterns')),
    ('mobile', var('oie_mobile_org_patterns')),
    ('hosting', var('oie_hosting_org_patterns')),
] %}

with

sessions as (
    select
        visitor_id,
        coalesce(ip_org, as_org) as network_org,
        ip_org is null as named_by_as,
        asn,
        lower(ip_domain) as ip_domain,
        {{ oie_typed_network_class('ip_user_type', 'ip_connection_type') }} as typed_class
    from {{ ref('int_sessions') }}
    where coalesce(ip_org, as_org) is not null
),

networks as (
    select
        network_org,
        min(asn) as asn,
        max(ip_domain) as ip_domain,
        {{ oie_bool_and('named_by_as') }} as named_by_as,
        count(*) as sessions
    from sessions
    group by network_org
),

typed_counts as (
    select
        network_org,
        typed_class,
        row_number() over (
            partition by network_org
            order by count(*) desc, typed_class asc
        ) as typed_rank
    from sessions
    where typed_class is not null
    group by network_org, typed_class
),

seeded as (
    select
        networks.network_org,
        min(seed.class) as seed_class
    from networks
    inner join {{ ref('oie_network_classes') }} as seed on networks.asn = seed.asn
    where networks.named_by_as
    group by networks.network_org
),

lead_companies as (
    select
        sessions.network_org,
        count(distinct coalesce(
            {{ oie_company_key('leads.company') }},
            lower({{ dbt.split_part('leads.email', "'@'", 2) }})
        )) as lead_companies
    from sessions
    inner join {{ ref('int_visitor_leads') }} as visitor_leads on sessions.visitor_id = visitor_leads.visitor_id
    inner join {{ ref('stg_oie__leads') }} as leads on visitor_leads.lead_id = leads.lead_id
    group by sessions.network_org
),

evidence as (
    select
        networks.network_org,
        networks.asn,
        networks.ip_domain,
        networks.sessions,
        typed_counts.typed_class,
        seeded.seed_class,
        {% if patterns | selectattr(1) | list -%}
        case
            {% for class, class_patterns in patterns if class_patterns -%}
            when {{ oie_like_any('networks.network_org', class_patterns) }} then '{{ class }}'
            {% endfor -%}
        end
        {%- else %}cast(null as {{ dbt.type_string() }}){% endif %} as pattern_class,
        coalesce(lead_companies.lead_companies, 0) as lead_companies
    from networks
    left join typed_counts on networks.network_org = typed_counts.network_org and typed_counts.typed_rank = 1
    left join seeded on networks.network_org = seeded.network_org
    left join lead_companies on networks.network_org = lead_companies.network_org
)

select
    network_org,
    {{ oie_company_key('network_org') }} as org_key,
    asn,
    ip_domain,
    sessions,
    lead_companies,
    case
        when typed_class is not null then typed_class
        when seed_class is not null then seed_class
        when pattern_class is not null then pattern_class
        when lead_companies >= {{ var('oie_isp_min_companies') }} then 'isp'
        else 'business'
    end as network_class,
    case
        when typed_class is not null then 'ip_type'
        when seed_class is not null then 'seed'
        when pattern_class is not null then 'pattern'
        when lead_companies >= {{ var('oie_isp_min_companies') }} then 'spread'
        else 'named'
    end as class_source
from evidence
