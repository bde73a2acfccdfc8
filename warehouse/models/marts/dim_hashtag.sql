-- one row per hashtag: every hashtag on any video any vendor has seen (lower case, no '#'), with its reach so far
with video_creators as (
    select
        videos.video_id,
        videos.video_created_at,
        coalesce(by_user_id.creator_key, by_handle.creator_key) as creator_key
    from {{ ref('dim_video') }} as videos
    left join {{ ref('bridge_creator_identity') }} as by_user_id
        on by_user_id.identity_kind = 'user_id' and by_user_id.identity_value = videos.creator_id
    left join {{ ref('bridge_creator_identity') }} as by_handle
        on by_handle.identity_kind = 'handle' and by_handle.identity_value = videos.creator_handle
),

hashtags as (
    select
        tags.hashtag,
        count(distinct tags.video_id) as video_count,
        count(distinct video_creators.creator_key) as creator_count,
        min(video_creators.video_created_at) as first_posted_at,
        max(video_creators.video_created_at) as last_posted_at,
        min(tags.first_seen_at) as first_seen_at,
        max(tags.last_seen_at) as last_seen_at,
        list_sort(list_distinct(flatten(list(tags.vendors)))) as vendors
    from {{ ref('bridge_video_hashtag') }} as tags
    left join video_creators using (video_id)
    group by tags.hashtag
)

select
    hashtag,
    video_count,
    creator_count,
    first_posted_at,
    last_posted_at,
    first_seen_at,
    last_seen_at,
    vendors,
    len(vendors) as vendor_count
from hashtags
