-- one row per (hashtag, observed_on): a hashtag's velocity, breadth, share of views, growth and breakout score on a UTC day
-- A day has a row when a video with the tag gained views (fct_video_daily) or was published. Trailing baselines are the
-- days BEFORE this one that had a known views gain (days with no tagged video gaining are unknown, not zero).
-- Breakout rule: breakout_score = views_gained / the trailing-28-day average, and only when at least 3 of the 28 days
-- before had a known gain and that average is above zero; otherwise NULL, so a new hashtag is never a breakout by
-- default. is_breakout = breakout_score >= 2 with at least 2 creators gaining (one creator's hit is not a trend).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='observed_on',
    on_schema_change='fail'
) }}

with video_days as (
    -- input look-back: 7 re-emitted days (fct_video_daily re-emits them too) + a 28-day baseline
    select video_id, observed_on, views_gained
    from {{ ref('fct_video_daily') }}
    where {{ incremental_window('observed_on', lookback_days=35) }}
        and views_gained is not null
),

all_views as (
    select observed_on, sum(views_gained) as total_views_gained
    from video_days
    group by observed_on
),

video_creators as (
    select
        videos.video_id,
        cast(timezone('UTC', videos.video_created_at) as date) as created_on,
        coalesce(by_user_id.creator_key, by_handle.creator_key, '@' || videos.creator_handle) as creator_key
    from {{ ref('dim_video') }} as videos
    left join {{ ref('bridge_creator_identity') }} as by_user_id
        on by_user_id.identity_kind = 'user_id' and by_user_id.identity_value = videos.creator_id
    left join {{ ref('bridge_creator_identity') }} as by_handle
        on by_handle.identity_kind = 'handle' and by_handle.identity_value = videos.creator_handle
),

tagged_activity as (
    -- each tagged video's part in a day: gaining views, published, or both
    select
        tags.hashtag,
        video_days.observed_on,
        tags.video_id,
        video_creators.creator_key,
        video_days.views_gained,
        coalesce(video_creators.created_on = video_days.observed_on, false) as is_posted
    from {{ ref('bridge_video_hashtag') }} as tags
    inner join video_creators using (video_id)
    inner join video_days using (video_id)
    union all
    -- published on a day it has no views gain for
    select tags.hashtag, video_creators.created_on, tags.video_id, video_creators.creator_key, null, true
    from {{ ref('bridge_video_hashtag') }} as tags
    inner join video_creators using (video_id)
    left join video_days
        on video_days.video_id = video_creators.video_id
        and video_days.observed_on = video_creators.created_on
    where video_days.video_id is null
        and video_creators.created_on is not null
        and {{ incremental_window('video_creators.created_on', lookback_days=35) }}
),

hashtag_days as (
    select
        hashtag,
        observed_on,
        count(*) filter (where is_posted) as posts_gained,
        count(distinct creator_key) filter (where is_posted) as creators_posting,
        count(views_gained) as videos_gaining,
        count(distinct creator_key) filter (where views_gained is not null) as creators_gaining,
        cast(sum(views_gained) as bigint) as views_gained
    from tagged_activity
    group by hashtag, observed_on
),

co_occurring as (
    -- the other tags on the same day's videos, the ones shared by most videos first
    select hashtag, observed_on, list(other_hashtag order by videos desc, other_hashtag)[1:5] as co_occurring_hashtags
    from (
        select activity.hashtag, activity.observed_on, others.hashtag as other_hashtag, count(*) as videos
        from tagged_activity as activity
        inner join {{ ref('bridge_video_hashtag') }} as others
            on others.video_id = activity.video_id
            and others.hashtag <> activity.hashtag
        group by activity.hashtag, activity.observed_on, others.hashtag
    )
    group by hashtag, observed_on
),

baselines as (
    select
        hashtag_days.*,
        hashtag_days.views_gained / nullif(all_views.total_views_gained, 0) as share_of_views,
        sum(views_gained) over (
            partition by hashtag order by observed_on range between interval 6 day preceding and current row
        ) as views_gained_7d,
        sum(views_gained) over (
            partition by hashtag order by observed_on
            range between interval 13 day preceding and interval 7 day preceding
        ) as views_gained_prev_7d,
        avg(views_gained) over (
            partition by hashtag order by observed_on
            range between interval 7 day preceding and interval 1 day preceding
        ) as avg_views_gained_trailing_7d,
        avg(views_gained) over (
            partition by hashtag order by observed_on
            range between interval 28 day preceding and interval 1 day preceding
        ) as avg_views_gained_trailing_28d,
        count(views_gained) over (
            partition by hashtag order by observed_on
            range between interval 28 day preceding and interval 1 day preceding
        ) as history_days_28d
    from hashtag_days
    left join all_views using (observed_on)
),

scored as (
    select
        *,
        case
            when history_days_28d >= 3 and avg_views_gained_trailing_28d > 0
                then views_gained / avg_views_gained_trailing_28d
        end as breakout_score
    from baselines
)

select
    scored.hashtag,
    scored.observed_on,
    scored.posts_gained,
    scored.creators_posting,
    scored.videos_gaining,
    scored.creators_gaining,
    scored.views_gained,
    scored.share_of_views,
    scored.views_gained_7d,
    scored.views_gained_prev_7d,
    scored.avg_views_gained_trailing_7d,
    scored.avg_views_gained_trailing_28d,
    scored.views_gained / nullif(scored.avg_views_gained_trailing_7d, 0) - 1 as growth_vs_trailing_7d,
    scored.views_gained / nullif(scored.avg_views_gained_trailing_28d, 0) - 1 as growth_vs_trailing_28d,
    scored.history_days_28d,
    coalesce(co_occurring.co_occurring_hashtags, []) as co_occurring_hashtags,
    scored.breakout_score,
    coalesce(scored.breakout_score >= 2 and scored.creators_gaining >= 2, false) as is_breakout
from scored
left join co_occurring using (hashtag, observed_on)
where {{ incremental_window('scored.observed_on', lookback_days=7) }}
