-- one row per (entity_type, entity_id): the top videos, creators, hashtags and sounds by views gained in the last 24 h, then 7 d
-- "Now" is as_of, the newest UTC day on which any video has a known views gain (vendors publish a day late, and a
-- snapshot vendor's first day has no gain yet). velocity_24h = views gained on as_of; velocity_7d = views gained over
-- as_of and the 6 days before. Creators, hashtags and sounds come from fct_creator_daily, fct_hashtag_daily and
-- fct_music_daily (their videos' gains added up). Top 25 of each type.
with as_of_day as (
    select max(observed_on) as as_of
    from {{ ref('fct_video_daily') }}
    where views_gained is not null
),

video_gains as (
    select
        daily.video_id,
        as_of_day.as_of,
        sum(case when daily.observed_on = as_of_day.as_of then daily.views_gained end) as velocity_24h,
        sum(daily.views_gained) as velocity_7d
    from {{ ref('fct_video_daily') }} as daily
    cross join as_of_day
    where daily.observed_on between as_of_day.as_of - interval 6 day and as_of_day.as_of
    group by daily.video_id, as_of_day.as_of
    having sum(daily.views_gained) is not null
),

entity_days as (
    -- creators, hashtags and sounds from their own daily facts (the same fct_video_daily gains, summed per entity)
    select 'creator' as entity_type, creator_key as entity_id, observed_on, views_gained, videos_gaining
    from {{ ref('fct_creator_daily') }}
    union all
    select 'hashtag', hashtag, observed_on, views_gained, videos_gaining
    from {{ ref('fct_hashtag_daily') }}
    union all
    select 'sound', cast(music_id as varchar), observed_on, views_gained, videos_gaining
    from {{ ref('fct_music_daily') }}
),

entity_gains as (
    select
        entity_days.entity_type,
        entity_days.entity_id,
        as_of_day.as_of,
        sum(case when entity_days.observed_on = as_of_day.as_of then entity_days.views_gained end) as velocity_24h,
        sum(entity_days.views_gained) as velocity_7d,
        coalesce(max(case when entity_days.observed_on = as_of_day.as_of then entity_days.videos_gaining end), 0)
            as members
    from entity_days
    cross join as_of_day
    where entity_days.observed_on between as_of_day.as_of - interval 6 day and as_of_day.as_of
    group by entity_days.entity_type, entity_days.entity_id, as_of_day.as_of
    having sum(entity_days.views_gained) is not null
),

candidates as (
    select
        'video' as entity_type,
        cast(gains.video_id as varchar) as entity_id,
        coalesce('@' || videos.creator_handle || ': ', '') || coalesce(left(videos.video_description, 60), '') as label,
        gains.as_of,
        gains.velocity_24h,
        gains.velocity_7d,
        videos.vendors,
        1 as members
    from video_gains as gains
    inner join {{ ref('dim_video') }} as videos using (video_id)
    union all
    select
        gains.entity_type,
        gains.entity_id,
        case gains.entity_type
            when 'creator' then '@' || creators.creator_handle
            when 'hashtag' then '#' || gains.entity_id
            else coalesce(music.music_title, 'sound ' || gains.entity_id)
        end,
        gains.as_of,
        gains.velocity_24h,
        gains.velocity_7d,
        coalesce(creators.vendors, hashtags.vendors, music.vendors, []),
        gains.members
    from entity_gains as gains
    left join {{ ref('dim_creator') }} as creators
        on gains.entity_type = 'creator' and creators.creator_key = gains.entity_id
    left join {{ ref('dim_hashtag') }} as hashtags
        on gains.entity_type = 'hashtag' and hashtags.hashtag = gains.entity_id
    left join {{ ref('dim_music') }} as music
        on gains.entity_type = 'sound' and cast(music.music_id as varchar) = gains.entity_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by entity_type
            order by velocity_24h desc nulls last, velocity_7d desc, entity_id
        ) as rank
    from candidates
)

select
    entity_type,
    entity_id,
    label,
    rank,
    as_of,
    velocity_24h,
    velocity_7d,
    vendors,
    case
        when velocity_24h is not null then
            format('{:,} views gained on {} ({:,} over 7 days)', velocity_24h, as_of, velocity_7d)
        else format('no gain known for {}, {:,} views gained over the 7 days to it', as_of, velocity_7d)
    end
    || case
        when entity_type <> 'video' and members > 0 then format(', {} of its videos gaining that day', members)
        else ''
    end
    || format('; seen by {}', array_to_string(vendors, ', ')) as reason
from ranked
where rank <= 25
