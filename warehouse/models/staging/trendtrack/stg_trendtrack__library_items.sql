-- one row per (item_id): each Trendtrack library item (an ad or organic TikTok video), its current state
with source as (
    select * from {{ source('raw_trendtrack', 'library_items') }}
),

renamed as (
    select
        'trendtrack' as vendor,
        id as item_id,
        tiktok_id as video_id,
        profile_id as creator_id,
        shop_id,
        type as item_type,
        status,
        is_pinned,
        published_at as video_created_at,
        created_at,
        updated_at,
        indexed_at,
        days_running,
        description as video_description,
        language,
        category,
        -- sent as text or number: a TikTok music id, BIGINT like every vendor's (NULL if not one)
        try_cast(music_id as bigint) as music_id,
        music_id as vendor_music_id,
        music_title,
        music_author,
        media_type,
        thumbnail_url,
        media_url,
        video_url,
        duration_sec as duration_seconds,
        media_count,
        image_count,
        observed_at,
        observed_on,
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
        relevance_score,
        pin_is_current,
        pin_first_pinned_at,
        pin_last_pinned_at,
        pin_last_unpinned_at,
        tiktok_url,
        profile_url,
        source_network,
        source_type,
        source_tiktok_page_id,
        source_website_id,
        source_domain,
        request_id,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by item_id order by load_id desc) = 1
)

select * from deduplicated
