-- one row per (creator_key, observed_on): a creator's followers and their growth, posts, views gained and ranking appearances on a UTC day
-- Followers are the day's last count from the most trusted vendor that reported one (ensembledata, trendtrack); their
-- gain is taken within that vendor's series against the day before, else Trendtrack's own daily follower gain (its
-- page snapshot). Views gained add up the creator's videos' gains (fct_video_daily); ranking appearances count the
-- listings of the creator's videos in keyapi's daily rankings of that day (every region and rank field).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='observed_on',
    on_schema_change='fail'
) }}

with video_creators as (
    select
        videos.video_id,
        cast(timezone('UTC', videos.video_created_at) as date) as created_on,
        coalesce(by_user_id.creator_key, by_handle.creator_key, '@' || videos.creator_handle) as creator_key
    from {{ ref('dim_video') }} as videos
    left join {{ ref('bridge_creator_identity') }} as by_user_id
        on by_user_id.identity_kind = 'user_id' and by_user_id.identity_value = videos.creator_id
    left join {{ ref('bridge_creator_identity') }} as by_handle
        on by_handle.identity_kind = 'handle' and by_handle.identity_value = videos.creator_handle
    where videos.creator_id is not null or videos.creator_handle is not null
),

follower_readings as (
    -- input look-back: 7 re-emitted days + the 7 days the weekly growth looks back over
    select
        bridge.creator_key,
        stats.vendor,
        stats.observed_at,
        stats.observed_on,
        stats.followers,
        stats.posts,
        cast(null as bigint) as reported_followers_gained,
        1 as vendor_priority
    from {{ ref('stg_ensembledata__user_stats') }} as stats
    inner join {{ ref('bridge_creator_identity') }} as bridge
        on bridge.identity_kind = 'user_id' and bridge.identity_value = cast(stats.creator_user_id as varchar)
    where {{ incremental_window('stats.observed_on', lookback_days=14) }}
    union all
    select
        bridge.creator_key,
        profiles.vendor,
        profiles.observed_at,
        profiles.observed_on,
        profiles.followers,
        profiles.posts,
        snapshots.daily_followers,
        2
    from {{ ref('stg_trendtrack__profiles') }} as profiles
    inner join {{ ref('bridge_creator_identity') }} as bridge
        on bridge.identity_kind = 'trendtrack_profile_id' and bridge.identity_value = profiles.creator_id
    left join {{ ref('stg_trendtrack__page_snapshots') }} as snapshots
        on snapshots.creator_id = profiles.creator_id
        and snapshots.observed_on = profiles.observed_on
    where {{ incremental_window('profiles.observed_on', lookback_days=14) }}
),

vendor_days as (
    select *
    from follower_readings
    qualify row_number() over (
        partition by creator_key, vendor, observed_on order by observed_at desc, followers desc
    ) = 1
),

vendor_series as (
    select
        *,
        followers - max(followers) over (
            partition by creator_key, vendor order by observed_on
            range between interval 1 day preceding and interval 1 day preceding
        ) as followers_gained,
        max(followers) over (
            partition by creator_key, vendor order by observed_on
            range between interval 7 day preceding and interval 7 day preceding
        ) as followers_7d_ago
    from vendor_days
),

follower_days as (
    select
        creator_key,
        observed_on,
        vendor as followers_vendor,
        followers,
        coalesce(followers_gained, reported_followers_gained) as followers_gained,
        followers / nullif(followers_7d_ago, 0) - 1 as followers_growth_7d,
        posts
    from vendor_series
    qualify row_number() over (partition by creator_key, observed_on order by vendor_priority) = 1
),

video_gains as (
    select video_creators.creator_key, daily.observed_on, daily.views_gained
    from {{ ref('fct_video_daily') }} as daily
    inner join video_creators using (video_id)
    where {{ incremental_window('daily.observed_on', lookback_days=13) }}
        and daily.views_gained is not null
),

gain_days as (
    select creator_key, observed_on, count(*) as videos_gaining, cast(sum(views_gained) as bigint) as views_gained
    from video_gains
    group by creator_key, observed_on
),

post_days as (
    select creator_key, created_on as observed_on, count(*) as posts_published
    from video_creators
    where created_on is not null and {{ incremental_window('created_on', lookback_days=7) }}
    group by creator_key, created_on
),

ranking_days as (
    select
        video_creators.creator_key,
        movement.period_start as observed_on,
        count(*) as ranking_appearances,
        count(distinct movement.video_id) as ranked_videos,
        min(movement.rank) as best_rank,
        cast(sum(movement.rank_change) as bigint) as rank_change,
        count(*) filter (where movement.is_new_entry) as new_entries
    from {{ ref('fct_video_ranking_movement') }} as movement
    inner join video_creators using (video_id)
    where movement.period = 'day'
        and not movement.is_dropped_out
        and {{ incremental_window('movement.period_start', lookback_days=7) }}
    group by video_creators.creator_key, movement.period_start
),

creator_days as (
    select creator_key, observed_on from follower_days
    union
    select creator_key, observed_on from gain_days
    union
    select creator_key, observed_on from post_days
    union
    select creator_key, observed_on from ranking_days
),

final as (
    select
        creator_days.creator_key,
        creator_days.observed_on,
        follower_days.followers,
        follower_days.followers_vendor,
        follower_days.followers_gained,
        follower_days.followers_growth_7d,
        follower_days.posts,
        coalesce(post_days.posts_published, 0) as posts_published,
        coalesce(gain_days.videos_gaining, 0) as videos_gaining,
        gain_days.views_gained,
        sum(gain_days.views_gained) over (
            partition by creator_days.creator_key order by creator_days.observed_on
            range between interval 6 day preceding and current row
        ) as views_gained_7d,
        coalesce(ranking_days.ranking_appearances, 0) as ranking_appearances,
        coalesce(ranking_days.ranked_videos, 0) as ranked_videos,
        ranking_days.best_rank,
        ranking_days.rank_change,
        coalesce(ranking_days.new_entries, 0) as new_entries
    from creator_days
    left join follower_days using (creator_key, observed_on)
    left join gain_days using (creator_key, observed_on)
    left join post_days using (creator_key, observed_on)
    left join ranking_days using (creator_key, observed_on)
)

select *
from final
where {{ incremental_window('observed_on', lookback_days=7) }}
