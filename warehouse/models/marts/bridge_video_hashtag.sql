-- one row per (video_id, hashtag): which hashtags each TikTok video carries, from every vendor that says so
-- Vendors' own tag lists (EnsembleData text_extra, Trendtrack hashtags, Research hashtag_names) and the '#tags' of every
-- caption any vendor reported (keyapi's rankings carry no tag list, but their captions do). Tags are lower case, no '#'.
with caption_sightings as (
    select video_id, vendor, observed_at, video_description
    from {{ ref('stg_keyapi__video_rankings_daily') }}
    union all
    select video_id, vendor, observed_at, video_description
    from {{ ref('stg_keyapi__video_rankings_weekly') }}
    union all
    select video_id, vendor, observed_at, video_description
    from {{ ref('stg_keyapi__video_rankings_monthly') }}
    union all
    select video_id, vendor, observed_at, video_description
    from {{ ref('stg_ensembledata__videos') }}
    union all
    select video_id, vendor, observed_at, video_description
    from {{ ref('stg_trendtrack__library_items') }}
    where video_id is not null
),

captions as (
    -- a caption repeats in every ranking row of its video: its tags are read once per distinct caption
    select video_id, vendor, video_description, min(observed_at) as first_seen_at, max(observed_at) as last_seen_at
    from caption_sightings
    where video_description like '%#%'
    group by video_id, vendor, video_description
),

caption_tags as (
    -- a tag runs to the next space, '#' or ASCII punctuation other than '_' (TikTok's own rule; 'fypシ' stays whole)
    select
        video_id,
        vendor,
        first_seen_at,
        last_seen_at,
        unnest(regexp_extract_all(lower(video_description), '#([^\s#!-/:-@\[-^`{-~]+)', 1)) as hashtag
    from captions
),

listed_tags as (
    select tags.video_id, tags.vendor, videos.observed_at, tags.hashtag
    from {{ ref('stg_ensembledata__video_hashtags') }} as tags
    left join {{ ref('stg_ensembledata__videos') }} as videos using (video_id)
    union all
    select items.video_id, tags.vendor, tags.observed_at, tags.hashtag
    from {{ ref('stg_trendtrack__library_item_hashtags') }} as tags
    inner join {{ ref('stg_trendtrack__library_items') }} as items using (item_id)
    where items.video_id is not null
    union all
    select video_id, vendor, observed_at, unnest(hashtags) as hashtag
    from {{ ref('stg_tiktok_research__videos') }}
),

tag_sightings as (
    select video_id, vendor, observed_at as first_seen_at, observed_at as last_seen_at, hashtag, false as from_caption
    from listed_tags
    union all
    select video_id, vendor, first_seen_at, last_seen_at, hashtag, true as from_caption from caption_tags
),

video_tags as (
    select
        video_id,
        hashtag,
        list_sort(list_distinct(list(vendor))) as vendors,
        bool_and(from_caption) as is_caption_only,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from tag_sightings
    where hashtag is not null and hashtag <> ''
    group by video_id, hashtag
)

select
    video_id,
    hashtag,
    vendors,
    is_caption_only,
    first_seen_at,
    last_seen_at
from video_tags
