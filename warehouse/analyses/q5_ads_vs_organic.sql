-- Question 5: how do ads perform against organic posts (Trendtrack's library, its newest day)?
-- Engagement is a ratio of sums over the items, never an average of per-item rates.
with latest as (
    select max(observed_on) as observed_on from {{ ref('fct_ads_library_daily') }}
)

select
    items.item_type,
    items.observed_on,
    count(*) as items,
    count(*) filter (where items.is_active) as active_items,
    count(distinct items.shop_id) as shops,
    sum(items.views) as views,
    cast(sum(items.views) / count(*) as bigint) as views_per_item,
    sum(items.likes + items.comments + items.shares) / nullif(sum(items.views), 0) as engagement_rate,
    sum(items.views_gained) as views_gained,
    avg(items.days_running) as avg_days_running,
    count(*) filter (where items.is_pinned_on_day) as pinned_items,
    max(items.shop_active_ads) as most_active_ads_in_a_shop
from {{ ref('fct_ads_library_daily') }} as items
inner join latest using (observed_on)
group by items.item_type, items.observed_on
order by items.item_type
