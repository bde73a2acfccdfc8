-- one row per (period_start, region, rank_field, product_category_id, rank): keyapi's weekly video rankings
-- The counts are what the video gained within the ranked week (Monday to Sunday, UTC), not lifetime totals, so they are named
-- `*_gained`; observed_at is the instant the period closed (midnight UTC after its last day).
with source as (
    select * from {{ source('raw_keyapi', 'video_rankings_weekly') }}
),

renamed as (
    select
        'keyapi' as vendor,
        rank_type as period,
        ranking_date as period_start,
        cast(ranking_date + interval 7 day - interval 1 day as date) as period_end,
        timezone('UTC', cast(ranking_date + interval 7 day as timestamp)) as observed_at,
        cast(ranking_date + interval 7 day - interval 1 day as date) as observed_on,
        region,
        rank_field,
        product_category_id,
        rank,
        video_id,
        cast(user_id as varchar) as creator_id,
        user_id as creator_user_id,
        lower(ltrim(unique_id, '@')) as creator_handle,
        nick_name as creator_nickname,
        category as creator_category,
        avatar as creator_avatar_url,
        create_time as video_created_at,
        video_desc as video_description,
        created_by_ai as is_ai_generated,
        duration as duration_seconds,
        reflow_cover as cover_url,
        sales_flag,
        total_views_cnt as views_gained,
        total_digg_cnt as likes_gained,
        total_comments_cnt as comments_gained,
        total_shares_cnt as shares_gained,
        total_favorites_cnt as saves_gained,
        total_video_sale_cnt as units_sold_gained,
        total_video_sale_gmv_amt as gmv_gained,
        json_extract_string(product_category_list, '$[*].category_name') as product_category_names,
        -- ids exceed 2**53: taken from the JSON as text, then cast, never through a double
        cast(json_extract_string(video_products, '$[*]') as bigint[]) as product_ids,
        request_id,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    -- a re-pulled ranking position keeps only its most recent load
    select *
    from renamed
    qualify row_number() over (
        partition by period_start, region, rank_field, product_category_id, rank
        order by load_id desc
    ) = 1
)

select * from deduplicated
