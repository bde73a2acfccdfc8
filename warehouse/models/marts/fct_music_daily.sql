-- one row per (music_id, observed_on): a sound's posts, creators and views gained on a UTC day
-- A day has a row when a video using the sound gained views (fct_video_daily), was published, or EnsembleData reported
-- the sound's post count. reported_posts_gained is taken within EnsembleData's own series, against the day before only.
with video_creators as (
    select
        videos.video_id,
        videos.music_id,
        cast(timezone('UTC', videos.video_created_at) as date) as created_on,
        coalesce(by_user_id.creator_key, by_handle.creator_key, '@' || videos.creator_handle) as creator_key
    from {{ ref('dim_video') }} as videos
    left join {{ ref('bridge_creator_identity') }} as by_user_id
        on by_user_id.identity_kind = 'user_id' and by_user_id.identity_value = videos.creator_id
    left join {{ ref('bridge_creator_identity') }} as by_handle
        on by_handle.identity_kind = 'handle' and by_handle.identity_value = videos.creator_handle
    where videos.music_id is not null
),

video_gains as (
    select video_id, observed_on, views_gained
    from {{ ref('fct_video_daily') }}
    where views_gained is not null
),

sound_activity as (
    -- each video's part in a day: gaining views, published, or both
    select
        video_creators.music_id,
        video_gains.observed_on,
        video_creators.creator_key,
        video_gains.views_gained,
        coalesce(video_creators.created_on = video_gains.observed_on, false) as is_posted
    from video_creators
    inner join video_gains using (video_id)
    union all
    -- published on a day it has no views gain for
    select video_creators.music_id, video_creators.created_on, video_creators.creator_key, null, true
    from video_creators
    left join video_gains
        on video_gains.video_id = video_creators.video_id
        and video_gains.observed_on = video_creators.created_on
    where video_gains.video_id is null and video_creators.created_on is not null
),

sound_days as (
    select
        music_id,
        observed_on,
        count(*) filter (where is_posted) as posts_gained,
        count(distinct creator_key) filter (where is_posted) as creators_posting,
        count(views_gained) as videos_gaining,
        count(distinct creator_key) filter (where views_gained is not null) as creators_gaining,
        cast(sum(views_gained) as bigint) as views_gained
    from sound_activity
    group by music_id, observed_on
),

reported as (
    select
        music_id,
        observed_on,
        posts as reported_posts,
        posts - max(posts) over (
            partition by music_id order by observed_on
            range between interval 1 day preceding and interval 1 day preceding
        ) as reported_posts_gained
    from {{ ref('stg_ensembledata__music_stats') }}
),

final as (
    select
        coalesce(sound_days.music_id, reported.music_id) as music_id,
        coalesce(sound_days.observed_on, reported.observed_on) as observed_on,
        coalesce(sound_days.posts_gained, 0) as posts_gained,
        coalesce(sound_days.creators_posting, 0) as creators_posting,
        coalesce(sound_days.videos_gaining, 0) as videos_gaining,
        coalesce(sound_days.creators_gaining, 0) as creators_gaining,
        sound_days.views_gained,
        reported.reported_posts,
        case when reported.reported_posts_gained >= 0 then reported.reported_posts_gained end as reported_posts_gained
    from sound_days
    full outer join reported using (music_id, observed_on)
)

select
    music_id,
    observed_on,
    posts_gained,
    creators_posting,
    videos_gaining,
    creators_gaining,
    views_gained,
    sum(views_gained) over (
        partition by music_id order by observed_on range between interval 6 day preceding and current row
    ) as views_gained_7d,
    reported_posts,
    reported_posts_gained
from final
