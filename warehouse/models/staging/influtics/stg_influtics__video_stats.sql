-- one row per (influtics_video_id): each tracked video's latest totals, from today's snapshot
-- Influtics calls shares "reposts"; its `er` is a percentage, not a fraction.
with source as (
    select * from {{ source('raw_influtics', 'video_stats') }}
),

renamed as (
    select
        'influtics' as vendor,
        video_id as influtics_video_id,
        tiktok_video_id as video_id,
        external_video_id,
        platform,
        title as video_title,
        thumbnail_url,
        created_at as tracked_since,
        stats_last_updated as observed_at,
        cast(timezone('UTC', stats_last_updated) as date) as observed_on,
        observed_on as pulled_on,
        views,
        likes,
        comments,
        reposts as shares,
        er as engagement_rate_percent,
        cpm,
        request_id,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by influtics_video_id order by load_id desc) = 1
)

select * from deduplicated
