-- Question 3: which creators are rising, by follower growth and by the rank their videos gained, over the last 7 days?
with as_of_day as (
    select max(observed_on) as as_of from {{ ref('fct_creator_daily') }}
),

week as (
    select
        daily.creator_key,
        as_of_day.as_of,
        sum(daily.followers_gained) as followers_gained_7d,
        arg_max(daily.followers, daily.observed_on) filter (where daily.followers is not null) as followers,
        arg_max(daily.followers_growth_7d, daily.observed_on) filter (where daily.followers_growth_7d is not null)
            as followers_growth_7d,
        sum(daily.rank_change) as rank_gained_7d,
        sum(daily.new_entries) as new_ranking_entries_7d,
        sum(daily.ranking_appearances) as ranking_appearances_7d,
        min(daily.best_rank) as best_rank_7d,
        sum(daily.views_gained) as views_gained_7d
    from {{ ref('fct_creator_daily') }} as daily
    cross join as_of_day
    where daily.observed_on > as_of_day.as_of - interval 7 day
    group by daily.creator_key, as_of_day.as_of
)

select
    week.creator_key,
    creators.creator_handle,
    week.as_of,
    week.followers,
    week.followers_gained_7d,
    week.followers_growth_7d,
    week.rank_gained_7d,
    week.new_ranking_entries_7d,
    week.ranking_appearances_7d,
    week.best_rank_7d,
    week.views_gained_7d,
    creators.vendors
from week
inner join {{ ref('dim_creator') }} as creators using (creator_key)
where week.followers_gained_7d > 0 or week.rank_gained_7d > 0 or week.new_ranking_entries_7d > 0
order by
    week.rank_gained_7d desc nulls last,
    week.followers_gained_7d desc nulls last,
    week.views_gained_7d desc nulls last,
    week.creator_key
limit 25
