-- one row per (observed_on, region, product_id): units and GMV a TikTok Shop product sold through the videos in keyapi's daily sales rankings, and their growth
-- keyapi counts a video's sales, not each product's: a video linking several products has its units and GMV split
-- evenly among them (so products add up to the videos). A video listed in several category slices of one day's
-- ranking counts once. Only ranked videos are seen, so the numbers are a floor (the top of the ranking), not the market.
-- A product's category: keyapi lists a video's distinct categories in product order, so the first product has the
-- first category, and when there are as many categories as products the i-th has the i-th; the latest such reading wins.
with listings as (
    select observed_on, observed_at, region, product_category_id, rank, video_id, units_sold_gained, gmv_gained,
        product_ids, product_category_names
    from {{ ref('stg_keyapi__video_rankings_daily') }}
    where rank_field = 'sales' and len(product_ids) > 0
),

video_sales as (
    select
        observed_on,
        region,
        video_id,
        max(units_sold_gained) as units_sold_gained,
        max(gmv_gained) as gmv_gained,
        min(rank) filter (where product_category_id = 'all') as sales_rank,
        arg_max(product_ids, observed_at) as product_ids
    from listings
    group by observed_on, region, video_id
),

product_positions as (
    select
        product_ids[position] as product_id,
        position,
        len(product_ids) as product_count,
        product_category_names,
        observed_at
    from (
        select product_ids, product_category_names, observed_at, unnest(range(1, len(product_ids) + 1)) as position
        from (
            select product_ids, product_category_names, observed_at from {{ ref('stg_keyapi__video_rankings_daily') }}
            union all
            select product_ids, product_category_names, observed_at from {{ ref('stg_keyapi__video_rankings_weekly') }}
            union all
            select product_ids, product_category_names, observed_at from {{ ref('stg_keyapi__video_rankings_monthly') }}
        ) as all_listings
        where len(product_ids) > 0
    ) as positioned
),

category_evidence as (
    select
        product_id,
        product_category_names[position] as product_category,
        observed_at
    from product_positions
    where position = 1 or len(product_category_names) = product_count
),

product_categories as (
    select product_id, arg_max(product_category, (observed_at, product_category)) as product_category
    from category_evidence
    where product_category is not null
    group by product_id
),

product_sales as (
    select
        video_sales.observed_on,
        video_sales.region,
        products.product_id,
        sum(video_sales.units_sold_gained / len(video_sales.product_ids)) as units_sold_gained,
        sum(video_sales.gmv_gained / len(video_sales.product_ids)) as gmv_gained,
        count(*) as selling_videos,
        min(video_sales.sales_rank) as best_sales_rank
    from video_sales
    cross join unnest(video_sales.product_ids) as products(product_id)
    group by video_sales.observed_on, video_sales.region, products.product_id
),

growth as (
    select
        product_sales.*,
        product_categories.product_category,
        max(units_sold_gained) over product_days as previous_units_sold_gained,
        max(gmv_gained) over product_days as previous_gmv_gained,
        sum(gmv_gained) over (
            partition by region, product_id order by observed_on
            range between interval 6 day preceding and current row
        ) as gmv_gained_7d
    from product_sales
    left join product_categories using (product_id)
    window product_days as (
        partition by region, product_id order by observed_on
        range between interval 1 day preceding and interval 1 day preceding
    )
)

select
    observed_on,
    region,
    product_id,
    product_category,
    units_sold_gained,
    gmv_gained,
    selling_videos,
    best_sales_rank,
    units_sold_gained / nullif(previous_units_sold_gained, 0) - 1 as units_growth_1d,
    gmv_gained / nullif(previous_gmv_gained, 0) - 1 as gmv_growth_1d,
    gmv_gained_7d,
    gmv_gained / nullif(sum(gmv_gained) over (partition by observed_on, region, product_category), 0)
        as category_gmv_share
from growth
