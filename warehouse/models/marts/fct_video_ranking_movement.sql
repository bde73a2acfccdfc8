-- one row per (period, period_start, region, rank_field, product_category_id, video_id): each video listed in a loaded period, plus each video that dropped out of it
-- Every period type (day, week, month) and rank field (views, sales) of keyapi's rankings; the counts are what the video gained within the period.
with rankings as (
    select period, period_start, region, rank_field, product_category_id, rank, video_id, views_gained, units_sold_gained, gmv_gained
    from {{ ref('stg_keyapi__video_rankings_daily') }}
    union all
    select period, period_start, region, rank_field, product_category_id, rank, video_id, views_gained, units_sold_gained, gmv_gained
    from {{ ref('stg_keyapi__video_rankings_weekly') }}
    union all
    select period, period_start, region, rank_field, product_category_id, rank, video_id, views_gained, units_sold_gained, gmv_gained
    from {{ ref('stg_keyapi__video_rankings_monthly') }}
),

listings as (
    -- a video listed twice in one ranking (pages shifting while read) keeps its best position
    select
        period,
        period_start,
        region,
        rank_field,
        product_category_id,
        video_id,
        min(rank) as rank,
        arg_min(views_gained, rank) as views_gained,
        arg_min(units_sold_gained, rank) as units_sold_gained,
        arg_min(gmv_gained, rank) as gmv_gained
    from rankings
    group by period, period_start, region, rank_field, product_category_id, video_id
),

loaded_periods as (
    select distinct
        period,
        period_start,
        region,
        rank_field,
        product_category_id,
        cast(case period
            when 'day' then period_start - interval 1 day
            when 'week' then period_start - interval 7 day
            when 'month' then period_start - interval 1 month
        end as date) as previous_period_start
    from listings
),

periods as (
    select
        loaded_periods.*,
        previous_loaded.period_start is not null as is_previous_period_loaded
    from loaded_periods
    left join loaded_periods as previous_loaded
        on previous_loaded.period = loaded_periods.period
        and previous_loaded.region = loaded_periods.region
        and previous_loaded.rank_field = loaded_periods.rank_field
        and previous_loaded.product_category_id = loaded_periods.product_category_id
        and previous_loaded.period_start = loaded_periods.previous_period_start
),

listing_history as (
    select
        listings.*,
        periods.previous_period_start,
        periods.is_previous_period_loaded,
        lag(listings.period_start) over video_slice as last_listed_start,
        min(listings.rank) over (
            video_slice rows between unbounded preceding and current row
        ) as best_rank_to_date
    from listings
    inner join periods
        using (period, period_start, region, rank_field, product_category_id)
    window video_slice as (
        partition by period, region, rank_field, product_category_id, video_id
        order by period_start
    )
),

streaks as (
    -- a streak breaks whenever the video was not listed in the immediately previous period
    select
        *,
        sum(case when last_listed_start = previous_period_start then 0 else 1 end) over (
            partition by period, region, rank_field, product_category_id, video_id
            order by period_start
            rows between unbounded preceding and current row
        ) as streak_number
    from listing_history
),

listed_movement as (
    select
        current_listing.period,
        current_listing.period_start,
        current_listing.region,
        current_listing.rank_field,
        current_listing.product_category_id,
        current_listing.video_id,
        current_listing.rank,
        previous_listing.rank as previous_rank,
        previous_listing.rank - current_listing.rank as rank_change,
        current_listing.is_previous_period_loaded
            and previous_listing.video_id is null as is_new_entry,
        false as is_dropped_out,
        current_listing.is_previous_period_loaded,
        row_number() over (
            partition by
                current_listing.period,
                current_listing.region,
                current_listing.rank_field,
                current_listing.product_category_id,
                current_listing.video_id,
                current_listing.streak_number
            order by current_listing.period_start
        ) as consecutive_periods,
        current_listing.best_rank_to_date,
        current_listing.views_gained,
        current_listing.units_sold_gained,
        current_listing.gmv_gained
    from streaks as current_listing
    left join listings as previous_listing
        on previous_listing.period = current_listing.period
        and previous_listing.region = current_listing.region
        and previous_listing.rank_field = current_listing.rank_field
        and previous_listing.product_category_id = current_listing.product_category_id
        and previous_listing.video_id = current_listing.video_id
        and previous_listing.period_start = current_listing.previous_period_start
),

dropped_out as (
    select
        periods.period,
        periods.period_start,
        periods.region,
        periods.rank_field,
        periods.product_category_id,
        previous_listing.video_id,
        cast(null as bigint) as rank,
        previous_listing.rank as previous_rank,
        cast(null as bigint) as rank_change,
        false as is_new_entry,
        true as is_dropped_out,
        true as is_previous_period_loaded,
        cast(0 as bigint) as consecutive_periods,
        previous_listing.best_rank_to_date,
        cast(null as bigint) as views_gained,
        cast(null as bigint) as units_sold_gained,
        cast(null as bigint) as gmv_gained
    from periods
    inner join listing_history as previous_listing
        on previous_listing.period = periods.period
        and previous_listing.region = periods.region
        and previous_listing.rank_field = periods.rank_field
        and previous_listing.product_category_id = periods.product_category_id
        and previous_listing.period_start = periods.previous_period_start
    left join listings as current_listing
        on current_listing.period = periods.period
        and current_listing.region = periods.region
        and current_listing.rank_field = periods.rank_field
        and current_listing.product_category_id = periods.product_category_id
        and current_listing.period_start = periods.period_start
        and current_listing.video_id = previous_listing.video_id
    where current_listing.video_id is null
),

movement as (
    select * from listed_movement
    union all
    select * from dropped_out
)

select
    period,
    period_start,
    region,
    rank_field,
    product_category_id,
    video_id,
    rank,
    previous_rank,
    rank_change,
    is_new_entry,
    is_dropped_out,
    is_previous_period_loaded,
    consecutive_periods,
    best_rank_to_date,
    views_gained,
    units_sold_gained,
    gmv_gained
from movement
