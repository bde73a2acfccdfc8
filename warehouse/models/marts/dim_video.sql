-- one row per video_id: every TikTok video any vendor has seen, joined on the TikTok id, with its best-known attributes
-- Each attribute comes from the most trusted vendor that knows it (tiktok_research, ensembledata, trendtrack, keyapi,
-- influtics); first and last seen span every vendor's sightings.
with sightings as (
    select video_id, vendor, observed_at, creator_handle, creator_id, video_created_at, video_description, region,
        duration_seconds, cast(null as bigint) as music_id, is_ai_generated
    from {{ ref('stg_keyapi__video_rankings_daily') }}
    union all
    select video_id, vendor, observed_at, creator_handle, creator_id, video_created_at, video_description, region,
        duration_seconds, cast(null as bigint) as music_id, is_ai_generated
    from {{ ref('stg_keyapi__video_rankings_weekly') }}
    union all
    select video_id, vendor, observed_at, creator_handle, creator_id, video_created_at, video_description, region,
        duration_seconds, cast(null as bigint) as music_id, is_ai_generated
    from {{ ref('stg_keyapi__video_rankings_monthly') }}
    union all
    select video_id, vendor, observed_at, creator_handle, cast(null as varchar) as creator_id, video_created_at,
        video_description, region, duration_seconds, music_id, cast(null as boolean) as is_ai_generated
    from {{ ref('stg_tiktok_research__videos') }}
    union all
    select video_id, vendor, observed_at, creator_handle, creator_id, video_created_at, video_description, region,
        cast(round(duration_ms / 1000) as bigint) as duration_seconds, music_id,
        cast(null as boolean) as is_ai_generated
    from {{ ref('stg_ensembledata__videos') }}
    union all
    -- Trendtrack's profile id is its own: the creator is reached through the profile's handle
    select items.video_id, items.vendor, items.observed_at, profiles.creator_handle, cast(null as varchar) as creator_id,
        items.video_created_at, items.video_description, cast(null as varchar) as region,
        cast(round(items.duration_seconds) as bigint) as duration_seconds, items.music_id,
        cast(null as boolean) as is_ai_generated
    from {{ ref('stg_trendtrack__library_items') }} as items
    left join {{ ref('stg_trendtrack__profiles') }} as profiles on profiles.creator_id = items.creator_id
    where items.video_id is not null
    union all
    select video_id, vendor, observed_at, cast(null as varchar) as creator_handle, cast(null as varchar) as creator_id,
        cast(null as timestamptz) as video_created_at, video_title as video_description, cast(null as varchar) as region,
        cast(null as bigint) as duration_seconds, cast(null as bigint) as music_id,
        cast(null as boolean) as is_ai_generated
    from {{ ref('stg_influtics__video_stats') }}
    where video_id is not null
),

ranked as (
    select
        *,
        case vendor
            when 'tiktok_research' then 1
            when 'ensembledata' then 2
            when 'trendtrack' then 3
            when 'keyapi' then 4
            else 5
        end as vendor_priority
    from sightings
),

videos as (
    select
        video_id,
        arg_min(creator_handle, (vendor_priority, observed_at)) filter (where creator_handle is not null) as creator_handle,
        arg_min(creator_id, (vendor_priority, observed_at)) filter (where creator_id is not null) as creator_id,
        arg_min(video_created_at, (vendor_priority, observed_at)) filter (where video_created_at is not null)
            as video_created_at,
        arg_min(video_description, (vendor_priority, observed_at)) filter (where video_description is not null)
            as video_description,
        arg_min(region, (vendor_priority, observed_at)) filter (where region is not null) as region,
        arg_min(duration_seconds, (vendor_priority, observed_at)) filter (where duration_seconds is not null)
            as duration_seconds,
        arg_min(music_id, (vendor_priority, observed_at)) filter (where music_id is not null) as music_id,
        arg_min(is_ai_generated, (vendor_priority, observed_at)) filter (where is_ai_generated is not null)
            as is_ai_generated,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        list_sort(list_distinct(list(vendor))) as vendors
    from ranked
    group by video_id
)

select
    video_id,
    creator_handle,
    creator_id,
    video_created_at,
    video_description,
    region,
    duration_seconds,
    music_id,
    is_ai_generated,
    first_seen_at,
    last_seen_at,
    vendors,
    len(vendors) as vendor_count
from videos
