-- one row per (creator_id): each profile's latest page snapshot (ads, organic posts, daily gains)
with source as (
    select * from {{ source('raw_trendtrack', 'page_snapshots') }}
),

renamed as (
    select
        'trendtrack' as vendor,
        profile_id as creator_id,
        recorded_at,
        observed_at,
        observed_on,
        ads_count,
        organic_count,
        total_tiktoks as posts,
        daily_views,
        daily_likes,
        daily_followers,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by creator_id order by load_id desc) = 1
)

select * from deduplicated
