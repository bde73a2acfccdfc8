-- one row per (item_id, observed_on): a library item's daily metrics snapshot, the history trends are built from
with source as (
    select * from {{ source('raw_trendtrack', 'library_item_metrics') }}
),

renamed as (
    select
        'trendtrack' as vendor,
        item_id,
        tiktok_id as video_id,
        observed_at,
        observed_on,
        indexed_at,
        status,
        days_running,
        views,
        likes,
        comments,
        shares,
        saves,
        reposts,
        engagement_rate,
        rank,
        rank_percent,
        delta_rank_3d,
        delta_rank_7d,
        delta_rank_14d,
        delta_rank_30d,
        request_id,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by item_id, observed_on order by load_id desc) = 1
)

select * from deduplicated
