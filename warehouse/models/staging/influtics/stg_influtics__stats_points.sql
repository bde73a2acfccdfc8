-- one row per (influtics_video_id, metric, observed_at): one point of a tracked video's stats history
-- The vendor's `reposts` series is TikTok's share count, named `shares` here like every vendor.
with source as (
    select * from {{ source('raw_influtics', 'stats_points') }}
),

renamed as (
    select
        'influtics' as vendor,
        video_id as influtics_video_id,
        tiktok_video_id as video_id,
        external_video_id,
        case metric when 'reposts' then 'shares' else metric end as metric,
        metric as vendor_metric,
        observed_at,
        cast(timezone('UTC', observed_at) as date) as observed_on,
        value,
        observed_on as pulled_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by influtics_video_id, vendor_metric, observed_at
        order by load_id desc
    ) = 1
)

select * from deduplicated
