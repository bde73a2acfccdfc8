-- one row per (item_id, observed_on): each Trendtrack library item (an ad or an organic post) on a UTC day, with its shop's active ads and its pin state
-- The day's numbers come from the item's daily metrics (Trendtrack's history, kept night by night); item_type, shop and
-- pin timestamps from the item itself. engagement_rate is (likes + comments + shares) / views of the day's counts.
-- is_pinned_on_day is the item's own flag on the day of its latest snapshot; other days read the pin timestamps at the
-- end of the day: pinned after the last pin unless unpinned since, not pinned before the first pin or after an unpin
-- that followed the last pin, unknown (NULL) in between.
with metrics as (
    select item_id, video_id, observed_at, observed_on, status, days_running, views, likes, comments, shares, saves,
        rank, load_id
    from {{ ref('stg_trendtrack__library_item_metrics') }}
),

items as (
    select
        items.item_id,
        items.item_type,
        items.shop_id,
        shops.shop_name,
        items.creator_id as trendtrack_profile_id,
        items.category,
        items.is_pinned,
        items.observed_on as snapshot_on,
        items.pin_first_pinned_at,
        items.pin_last_pinned_at,
        items.pin_last_unpinned_at
    from {{ ref('stg_trendtrack__library_items') }} as items
    left join {{ ref('stg_trendtrack__shops') }} as shops using (shop_id)
),

item_days as (
    select
        metrics.*,
        items.item_type,
        items.shop_id,
        items.shop_name,
        bridge.creator_key,
        items.category,
        items.is_pinned,
        items.snapshot_on,
        items.pin_first_pinned_at,
        items.pin_last_pinned_at,
        items.pin_last_unpinned_at,
        metrics.observed_on + interval 1 day as day_end,
        metrics.views - max(metrics.views) over previous_day as views_gained
    from metrics
    inner join items using (item_id)
    left join {{ ref('bridge_creator_identity') }} as bridge
        on bridge.identity_kind = 'trendtrack_profile_id' and bridge.identity_value = items.trendtrack_profile_id
    window previous_day as (
        partition by metrics.item_id order by metrics.observed_on
        range between interval 1 day preceding and interval 1 day preceding
    )
),

pins as (
    select
        *,
        case
            when observed_on = snapshot_on and is_pinned is not null then is_pinned
            when pin_last_pinned_at is null then false
            when pin_last_pinned_at < day_end
                and (pin_last_unpinned_at is null or pin_last_unpinned_at < pin_last_pinned_at) then true
            when pin_last_unpinned_at > pin_last_pinned_at and pin_last_unpinned_at < day_end then false
            when coalesce(pin_first_pinned_at, pin_last_pinned_at) >= day_end then false
        end as is_pinned_on_day
    from item_days
)

select
    item_id,
    observed_on,
    video_id,
    item_type,
    shop_id,
    shop_name,
    creator_key,
    category,
    status,
    status = 'active' as is_active,
    days_running,
    views,
    likes,
    comments,
    shares,
    saves,
    case when views_gained >= 0 then views_gained end as views_gained,
    (likes + comments + shares) / nullif(views, 0) as engagement_rate,
    rank,
    case when shop_id is not null
        then count(*) filter (where item_type = 'ad' and status = 'active') over shop_day
    end as shop_active_ads,
    case when shop_id is not null
        then count(*) filter (where item_type = 'organic' and status = 'active') over shop_day
    end as shop_active_organic,
    is_pinned_on_day,
    pin_first_pinned_at,
    pin_last_pinned_at,
    pin_last_unpinned_at,
    load_id
from pins
window shop_day as (partition by shop_id, observed_on)
