-- one row per (period, period_start, region, rank_field, product_category_id, rank): keyapi's video rankings, all three period types
with raw_rankings as (
    select * from raw_keyapi.video_rankings_daily
    union all by name
    select * from raw_keyapi.video_rankings_weekly
    union all by name
    select * from raw_keyapi.video_rankings_monthly
),

renamed as (
    select
        rank_type as period,
        cast(ranking_date as date) as period_start,
        region,
        rank_field,
        product_category_id,
        cast(rank as bigint) as rank,
        cast(video_id as bigint) as video_id,
        cast(user_id as bigint) as creator_user_id,
        unique_id as creator_handle,
        nick_name as creator_nickname,
        category as creator_category,
        cast(create_time as timestamptz) as video_created_at,
        created_by_ai as is_ai_generated,
        duration as duration_seconds,
        sales_flag,
        total_views_cnt as views,
        total_digg_cnt as likes,
        total_comments_cnt as comments,
        total_shares_cnt as shares,
        total_favorites_cnt as favorites,
        total_video_sale_cnt as units_sold,
        total_video_sale_gmv_amt as gmv,
        video_desc as video_description,
        json_extract_string(product_category_list, '$[*].category_name') as product_category_names,
        -- ids exceed 2**53: taken from the JSON as text, then cast, never through a double
        cast(json_extract_string(video_products, '$[*]') as bigint[]) as product_ids,
        _dlt_load_id
    from raw_rankings
),

latest_load as (
    -- a re-pulled ranking position keeps only its most recent load
    select *
    from renamed
    qualify row_number() over (
        partition by period, period_start, region, rank_field, product_category_id, rank
        order by _dlt_load_id desc, video_id
    ) = 1
)

select
    period,
    period_start,
    region,
    rank_field,
    product_category_id,
    rank,
    video_id,
    creator_user_id,
    creator_handle,
    creator_nickname,
    creator_category,
    video_created_at,
    is_ai_generated,
    duration_seconds,
    sales_flag,
    views,
    likes,
    comments,
    shares,
    favorites,
    units_sold,
    gmv,
    video_description,
    product_category_names,
    product_ids,
    _dlt_load_id
from latest_load
