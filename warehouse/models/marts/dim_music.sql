-- one row per music_id: every TikTok sound any vendor has seen, with its best-known title and author
-- Title and author come from EnsembleData's music endpoint, else Trendtrack's library items; reported_posts is the
-- latest number of posts EnsembleData says use the sound (NULL when it never looked the sound up).
with sightings as (
    select music_id, vendor, observed_at, music_title, music_author, 1 as vendor_priority
    from {{ ref('stg_ensembledata__music') }}
    union all
    select music_id, vendor, observed_at, music_title, music_author, 2
    from {{ ref('stg_trendtrack__library_items') }}
    where music_id is not null
    union all
    select music_id, vendor, observed_at, null, null, 3
    from {{ ref('stg_tiktok_research__videos') }}
    where music_id is not null
    union all
    select music_id, vendor, observed_at, null, null, 3
    from {{ ref('stg_ensembledata__videos') }}
    where music_id is not null
),

video_creators as (
    select
        videos.video_id,
        videos.music_id,
        coalesce(by_user_id.creator_key, by_handle.creator_key) as creator_key
    from {{ ref('dim_video') }} as videos
    left join {{ ref('bridge_creator_identity') }} as by_user_id
        on by_user_id.identity_kind = 'user_id' and by_user_id.identity_value = videos.creator_id
    left join {{ ref('bridge_creator_identity') }} as by_handle
        on by_handle.identity_kind = 'handle' and by_handle.identity_value = videos.creator_handle
    where videos.music_id is not null
),

usage as (
    select music_id, count(*) as video_count, count(distinct creator_key) as creator_count
    from video_creators
    group by music_id
),

reported_posts as (
    select music_id, arg_max(posts, observed_on) as reported_posts, max(observed_on) as reported_posts_on
    from {{ ref('stg_ensembledata__music_stats') }}
    group by music_id
),

sounds as (
    select
        music_id,
        arg_min(music_title, (vendor_priority, -epoch(observed_at))) filter (where music_title is not null)
            as music_title,
        arg_min(music_author, (vendor_priority, -epoch(observed_at))) filter (where music_author is not null)
            as music_author,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        list_sort(list_distinct(list(vendor))) as vendors
    from sightings
    group by music_id
)

select
    sounds.music_id,
    sounds.music_title,
    sounds.music_author,
    coalesce(starts_with(lower(sounds.music_title), 'original sound'), false) as is_original_sound,
    coalesce(usage.video_count, 0) as video_count,
    coalesce(usage.creator_count, 0) as creator_count,
    reported_posts.reported_posts,
    reported_posts.reported_posts_on,
    sounds.first_seen_at,
    sounds.last_seen_at,
    sounds.vendors,
    len(sounds.vendors) as vendor_count
from sounds
left join usage using (music_id)
left join reported_posts using (music_id)
