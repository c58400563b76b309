"""The page stays small at scale: 10,000 leads (2,000 of them hot), 1,000,000 events,
100,000 sessions, half of them of the hot leads (each over the page's 20 per lead), and
many clicks and identifiers. The marts are written directly (the report reads only
marts), with the columns dbt gives them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .conftest import Cli

LIMIT_BYTES = 1_500_000

MARTS = """
create table lead_profiles as
select 'lead' || lpad(i::varchar, 6, '0') as lead_id, 'first' || i as first_name,
       'last' || i as last_name, 'Company ' || (i % 700) as company, 'Head of Something' as title,
       'campaign-' || (i % 12) as campaign_id, 'Campaign number ' || (i % 12) as campaign_name,
       timestamp '2026-11-01 08:00:00' + to_minutes(i % 900) as first_click_at,
       timestamp '2026-11-01 09:00:00' + to_minutes(i % 1000) as first_visit_at,
       timestamp '2026-12-01 10:00:00' - to_minutes(i) as last_visit_at,
       case when i < 2000 then 95 - i % 30 else i % 60 end as intent_score,
       case when i < 600 then 'burning' when i < 2000 then 'hot' when i % 60 >= 40 then 'warm'
            else 'cold' end as engagement_level,
       25.0 as score_recency, 16.0 as score_frequency, 21.5 as score_engagement,
       17.0 as score_high_intent, 15.0 as score_conversions,
       '/, /about, /blog/a-rather-long-post-title, /case-studies/acme, /customers/globex, '
       || '/demo, /features/analytics, /pricing, /product, /security' as pages_seen,
       timestamp '2026-12-01 12:00:00' as scored_as_of, i % 97 = 0 as is_suppressed
from range(10000) as t(i);

create view high_intent_leads as
select *, row_number() over (order by intent_score desc, last_visit_at desc, lead_id)
          as priority_rank
from lead_profiles where engagement_level in ('hot', 'burning');

create table sessions as
select 'session' || i as session_id,
       -- half of them by the 2,000 hot leads: each has more than the page's 20
       'lead' || lpad((case when i % 2 = 0 then i % 2000 else i % 10000 end)::varchar, 6, '0')
         as lead_id,
       timestamp '2026-11-02 00:00:00' + to_minutes(i % 40000) as started_at,
       600 as duration_s, 420 as active_s, '/case-studies/a-long-customer-story' as entry_page,
       '/pricing/enterprise-plans' as exit_page, 7 as pageviews, 100 as max_scroll_depth,
       1 as forms_submitted, 1 as videos_played, 'desktop' as device, 'Chrome' as browser,
       'US' as country, 88 as engagement_score,
       '/, /about, /blog/a-rather-long-post-title, /case-studies/acme, /customers/globex, '
       || '/demo, /features/analytics, /pricing' as pages_seen
from range(100000) as t(i);

create table email_clicks as
select 'click' || i as event_id,
       'lead' || lpad((case when i % 2 = 0 then i % 2000 else i % 10000 end)::varchar, 6, '0')
         as lead_id,
       timestamp '2026-11-02 00:00:00' + to_minutes(i) as clicked_at, i % 7 = 0 as is_scanner
from range(60000) as t(i);

create table identity_map as
select 'visitor:v' || i as identity_key, 'visitor' as identifier_type,
       'lead' || lpad((i % 10000)::varchar, 6, '0') as lead_id, 'email_hash' as match_type,
       1.0 as confidence, true as is_linked, false as is_forwarded,
       timestamp '2026-11-02 00:00:00' as first_seen_at
from range(80000) as t(i);

create table events as
select 'event' || i as event_id,
       timestamp '2026-11-01 00:00:00' + to_seconds(i * 2) as received_at
from range(1000000) as t(i);

create table rejected_events as
select timestamp '2026-11-01 00:00:00' + to_minutes(i) as received_at,
       ['track', 'go', 'seal'][1 + i % 3] as stage,
       ['invalid_type: type x is unknown ' || i, 'too_old: event older than 7 days'][1 + i % 2]
         as reason
from range(20000) as t(i);

create table campaign_performance as
select campaign_id, any_value(campaign_name) as campaign_name, count(*) as leads,
       count(*) as email_clicks, 10 as scanner_clicks, count(*) // 2 as leads_clicked,
       count(*) // 2 as leads_visited, 3000 as sessions,
       count(*) filter (engagement_level in ('hot', 'burning')) as hot_leads,
       count(*) filter (engagement_level = 'burning') as burning_leads,
       100 as leads_submitted_form, 3 as forwarded_tokens, avg(intent_score) as avg_intent_score,
       0.5 as click_rate, 0.2 as form_conversion_rate
from lead_profiles group by campaign_id;

create table campaign_daily as
select campaign_id, date '2026-09-01' + d::integer as day, 30 as clicks, 3 as scanner_clicks,
       20 as visits, 25 as sessions, 2 as form_submissions, 1 as leads_reached_hot
from campaign_performance, range(92) as t(d);

create table lead_level_changes as
select lead_id, campaign_id, 'cold' as from_level, engagement_level as to_level,
       timestamp '2026-11-01 00:00:00' + to_hours(i % 720) as changed_at
from (select *, row_number() over () as i from lead_profiles where engagement_level != 'cold');
"""


def test_ten_thousand_leads_and_a_million_events_fit_in_1_5_mb(cli: Cli, tmp_path: Path) -> None:
    cli.data_dir.mkdir(parents=True)
    con = duckdb.connect(str(cli.data_dir / "warehouse.duckdb"))
    try:
        con.execute(MARTS)
    finally:
        con.close()
    out = tmp_path / "big.html"
    proc = cli("report", "--out", str(out), check=True)
    assert "top 200 of 2000 hot lead(s), 12 campaign(s)" in proc.stdout
    size = out.stat().st_size
    assert size <= LIMIT_BYTES, f"{size:,} bytes"
    html = out.read_text()
    assert html.count("<svg") == 1 + 8 + 2 + 2  # components, 8 daily, scores x2, health x2
    assert "4 more campaign(s) not charted" in html
