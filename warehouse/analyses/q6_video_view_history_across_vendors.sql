-- Question 6: what is one video's view history across every vendor that tracks it (`--vars '{video_id: 73...}'`)?
-- Without a video_id, the video seen by the most vendors. Each vendor keeps its own values; nothing is averaged.
{%- set video_id = var('video_id', none) %}
with chosen as (
    {%- if video_id is not none %}
    select cast({{ video_id }} as bigint) as video_id
    {%- else %}
    select video_id
    from {{ ref('dim_video') }}
    order by vendor_count desc, last_seen_at desc, video_id
    limit 1
    {%- endif %}
)

select
    observations.video_id,
    observations.vendor,
    observations.source_table,
    observations.counter_kind,
    observations.period,
    observations.observed_at,
    observations.observed_on,
    observations.views,
    observations.likes,
    observations.comments,
    observations.shares,
    observations.saves
from {{ ref('fct_video_observations') }} as observations
inner join chosen using (video_id)
order by observations.observed_at, observations.vendor, observations.source_table
