-- Question 2: which hashtags are breaking out this week against last week?
-- This week = the 7 days ending on the newest day with a known gain, and a breakout day follows fct_hashtag_daily's rule
-- (twice its trailing-28-day daily average, at least 3 days of history, 2+ creators), so a new tag never qualifies.
with as_of_day as (
    select max(observed_on) as as_of
    from {{ ref('fct_hashtag_daily') }}
    where views_gained is not null
),

weeks as (
    select
        daily.hashtag,
        as_of_day.as_of,
        sum(daily.views_gained) filter (where daily.observed_on > as_of_day.as_of - interval 7 day) as views_this_week,
        sum(daily.views_gained) filter (where daily.observed_on <= as_of_day.as_of - interval 7 day) as views_last_week,
        sum(daily.posts_gained) filter (where daily.observed_on > as_of_day.as_of - interval 7 day) as posts_this_week,
        count(*) filter (where daily.is_breakout and daily.observed_on > as_of_day.as_of - interval 7 day)
            as breakout_days,
        max(daily.breakout_score) filter (where daily.observed_on > as_of_day.as_of - interval 7 day)
            as best_breakout_score,
        max(daily.creators_gaining) filter (where daily.observed_on > as_of_day.as_of - interval 7 day)
            as most_creators_in_a_day
    from {{ ref('fct_hashtag_daily') }} as daily
    cross join as_of_day
    where daily.observed_on > as_of_day.as_of - interval 14 day and daily.observed_on <= as_of_day.as_of
    group by daily.hashtag, as_of_day.as_of
)

select
    hashtag,
    as_of,
    views_this_week,
    views_last_week,
    views_this_week / nullif(views_last_week, 0) - 1 as week_over_week_growth,
    posts_this_week,
    breakout_days,
    best_breakout_score,
    most_creators_in_a_day
from weeks
where breakout_days > 0
order by best_breakout_score desc, hashtag
