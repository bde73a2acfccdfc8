-- one row per (video_id, vendor, source_table, observed_at): every counter observation of every vendor on one timeline
-- Values that disagree between vendors stay side by side, each with its vendor: nothing is averaged.
-- counter_kind 'total' rows carry lifetime counts at observed_at; 'gained' rows (keyapi rankings)
-- carry what the video gained in the period that closed at observed_at.
-- observed_on is always the UTC day of observed_at (the day the numbers describe, not the load day).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='observed_on',
    on_schema_change='fail'
) }}

with keyapi_gains as (
    -- one video listed in several slices of one period (regions, categories) has one set of gains
    select
        video_id,
        vendor,
        'stg_keyapi__video_rankings_' || case period when 'day' then 'daily' when 'week' then 'weekly' else 'monthly' end
            as source_table,
        'gained' as counter_kind,
        period,
        observed_at,
        observed_on,
        max(views_gained) as views,
        max(likes_gained) as likes,
        max(comments_gained) as comments,
        max(shares_gained) as shares,
        max(saves_gained) as saves,
        max(load_id) as load_id
    from (
        -- each source is read by period_start, the column its de-duplication partitions on (the
        -- derived observed_on stops the filter above it): a period that closes in the window
        -- began at most 31 days before it
        select * from {{ ref('stg_keyapi__video_rankings_daily') }}
        where {{ incremental_window('period_start', lookback_days=3) }}
        union all by name
        select * from {{ ref('stg_keyapi__video_rankings_weekly') }}
        where {{ incremental_window('period_start', lookback_days=3 + 31) }}
        union all by name
        select * from {{ ref('stg_keyapi__video_rankings_monthly') }}
        where {{ incremental_window('period_start', lookback_days=3 + 31) }}
    ) as rankings
    group by video_id, vendor, period, observed_at, observed_on
),

research_totals as (
    select
        video_id,
        vendor,
        'stg_tiktok_research__videos' as source_table,
        'total' as counter_kind,
        cast(null as varchar) as period,
        observed_at,
        observed_on,
        views,
        likes,
        comments,
        shares,
        saves,
        load_id
    from {{ ref('stg_tiktok_research__videos') }}
    where {{ incremental_window('observed_on', lookback_days=3) }}
    -- one video matched by several watched queries was observed once per pull
    qualify row_number() over (partition by video_id, observed_at order by load_id desc, views desc) = 1
),

influtics_totals as (
    select
        video_id,
        vendor,
        'stg_influtics__video_stats' as source_table,
        'total' as counter_kind,
        cast(null as varchar) as period,
        observed_at,
        observed_on,
        views,
        likes,
        comments,
        shares,
        cast(null as bigint) as saves,
        load_id
    from {{ ref('stg_influtics__video_stats') }}
    -- off-TikTok entries have no TikTok id; a video tracked minutes ago has no stats yet
    where video_id is not null and observed_at is not null
),

influtics_points as (
    -- the vendor's own history (its `stats` map), long form pivoted back to one row per instant
    select
        video_id,
        'influtics' as vendor,
        'stg_influtics__stats_points' as source_table,
        'total' as counter_kind,
        cast(null as varchar) as period,
        observed_at,
        cast(timezone('UTC', observed_at) as date) as observed_on,
        max(case when metric = 'views' then value end) as views,
        max(case when metric = 'likes' then value end) as likes,
        max(case when metric = 'comments' then value end) as comments,
        max(case when metric = 'shares' then value end) as shares,
        cast(null as bigint) as saves,
        max(load_id) as load_id
    from {{ ref('stg_influtics__stats_points') }}
    where video_id is not null and {{ incremental_instant_window('observed_at', lookback_days=3) }}
    group by video_id, observed_at
),

trendtrack_totals as (
    select
        video_id,
        vendor,
        'stg_trendtrack__library_item_metrics' as source_table,
        'total' as counter_kind,
        cast(null as varchar) as period,
        observed_at,
        observed_on,
        views,
        likes,
        comments,
        shares,
        saves,
        load_id
    from {{ ref('stg_trendtrack__library_item_metrics') }}
    -- the window filters before the qualify below, which partitions by observed_at, not the day
    where video_id is not null and {{ incremental_window('observed_on', lookback_days=3) }}
    -- two library items (an ad and its organic twin) can point at one TikTok video
    qualify row_number() over (partition by video_id, observed_at order by views desc, load_id desc) = 1
),

ensembledata_totals as (
    select
        video_id,
        vendor,
        'stg_ensembledata__video_stats' as source_table,
        'total' as counter_kind,
        cast(null as varchar) as period,
        observed_at,
        observed_on,
        views,
        likes,
        comments,
        shares,
        saves,
        load_id
    from {{ ref('stg_ensembledata__video_stats') }}
),

observations as (
    select * from keyapi_gains
    union all
    select * from research_totals
    union all
    select * from influtics_totals
    union all
    select * from influtics_points
    union all
    select * from trendtrack_totals
    union all
    select * from ensembledata_totals
)

select
    video_id,
    vendor,
    source_table,
    counter_kind,
    period,
    observed_at,
    observed_on,
    views,
    likes,
    comments,
    shares,
    saves,
    load_id
from observations
-- a run recomputes the partition window plus 3 days back: Influtics' stats map and keyapi's
-- late-published periods deliver observations up to ~2 days after the day they describe
where {{ incremental_window('observed_on', lookback_days=3) }}
