-- Question 1: which 10 videos gained the most views "today" in a region (`--vars '{region: GB}'`, default US)?
-- "Today" is the newest UTC day with a known views gain (vendors publish a day late).
with today as (
    select max(observed_on) as as_of
    from {{ ref('fct_video_daily') }}
    where views_gained is not null
)

select
    daily.video_id,
    videos.creator_handle,
    left(videos.video_description, 60) as caption,
    videos.region,
    today.as_of,
    daily.views_gained,
    daily.views,
    daily.gain_vendor,
    videos.vendors
from {{ ref('fct_video_daily') }} as daily
inner join today on daily.observed_on = today.as_of
inner join {{ ref('dim_video') }} as videos using (video_id)
where videos.region = '{{ var("region", "US") }}'
    and daily.views_gained is not null
order by daily.views_gained desc, daily.video_id
limit 10
