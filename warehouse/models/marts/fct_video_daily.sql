-- one row per (video_id, observed_on): a video's last known counters on a UTC day, its gains since the day before, 7-day velocity
-- Every gain is taken within ONE vendor's series (never one vendor's total minus another's); the day's counters come from
-- the most trusted vendor that knew them (tiktok_research, ensembledata, trendtrack, influtics), its gains from the same
-- series when it has them, else from keyapi's daily ranking (what the video gained that day).
-- A missing day is interpolated linearly only between two known points at most 8 days apart (a gap of up to 7 days) and
-- flagged is_interpolated; nothing is extrapolated past the last point. A counter that went down (restated by the vendor)
-- flags is_restated and leaves that gain NULL, never negative.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='observed_on',
    on_schema_change='fail'
) }}

with observations as (
    -- input look-back: 7 re-emitted days + a 7-day velocity window + 1 for acceleration + a 7-day gap before them
    select *
    from {{ ref('fct_video_observations') }}
    where {{ incremental_window('observed_on', lookback_days=22) }}
),

day_totals as (
    -- the last lifetime counts each vendor reported for the video on each day
    select
        video_id,
        vendor,
        observed_on,
        views,
        likes,
        comments,
        shares,
        saves
    from observations
    where counter_kind = 'total'
    qualify row_number() over (
        partition by video_id, vendor, observed_on
        order by observed_at desc, source_table, views desc nulls last
    ) = 1
),

known_points as (
    select
        *,
        lead(observed_on) over vendor_series as next_on,
        lead(views) over vendor_series as next_views,
        lead(likes) over vendor_series as next_likes,
        lead(comments) over vendor_series as next_comments,
        lead(shares) over vendor_series as next_shares,
        lead(saves) over vendor_series as next_saves
    from day_totals
    window vendor_series as (partition by video_id, vendor order by observed_on)
),

gap_days as (
    -- the days strictly between two known points of one vendor, when they are at most 8 days apart
    select
        *,
        unnest(range(1, cast(next_on - observed_on as bigint))) as step,
        cast(next_on - observed_on as bigint) as span
    from known_points
    where next_on - observed_on between 2 and 8
),

vendor_series as (
    select video_id, vendor, observed_on, views, likes, comments, shares, saves, false as is_interpolated
    from day_totals
    union all
    select
        video_id,
        vendor,
        cast(observed_on + step * interval 1 day as date) as observed_on,
        views + cast(round((next_views - views) * step / span) as bigint) as views,
        likes + cast(round((next_likes - likes) * step / span) as bigint) as likes,
        comments + cast(round((next_comments - comments) * step / span) as bigint) as comments,
        shares + cast(round((next_shares - shares) * step / span) as bigint) as shares,
        saves + cast(round((next_saves - saves) * step / span) as bigint) as saves,
        true as is_interpolated
    from gap_days
),

previous_day as (
    select
        *,
        lag(observed_on) over vendor_days = observed_on - interval 1 day as has_previous_day,
        lag(views) over vendor_days as previous_views,
        lag(likes) over vendor_days as previous_likes,
        lag(comments) over vendor_days as previous_comments,
        lag(shares) over vendor_days as previous_shares,
        lag(saves) over vendor_days as previous_saves
    from vendor_series
    window vendor_days as (partition by video_id, vendor order by observed_on)
),

series_gains as (
    select
        video_id,
        vendor,
        observed_on,
        views,
        likes,
        comments,
        shares,
        saves,
        is_interpolated,
        coalesce(has_previous_day, false) and (
            views < previous_views or likes < previous_likes or comments < previous_comments
            or shares < previous_shares or saves < previous_saves
        ) as is_restated,
        case when has_previous_day and views >= previous_views then views - previous_views end as views_gained,
        case when has_previous_day and likes >= previous_likes then likes - previous_likes end as likes_gained,
        case when has_previous_day and comments >= previous_comments then comments - previous_comments end
            as comments_gained,
        case when has_previous_day and shares >= previous_shares then shares - previous_shares end as shares_gained,
        case when has_previous_day and saves >= previous_saves then saves - previous_saves end as saves_gained,
        case vendor
            when 'tiktok_research' then 1
            when 'ensembledata' then 2
            when 'trendtrack' then 3
            when 'influtics' then 4
            else 5
        end as vendor_priority
    from previous_day
),

ranking_gains as (
    -- keyapi's daily ranking says what the video gained within the day itself
    select
        video_id,
        vendor,
        observed_on,
        false as is_restated,
        views as views_gained,
        likes as likes_gained,
        comments as comments_gained,
        shares as shares_gained,
        saves as saves_gained,
        6 as vendor_priority
    from observations
    where counter_kind = 'gained' and period = 'day'
),

day_counters as (
    -- one series per video and day for the counters: a reported value beats an interpolated one, then vendor trust
    select *
    from series_gains
    qualify row_number() over (
        partition by video_id, observed_on order by is_interpolated, vendor_priority
    ) = 1
),

gain_candidates as (
    select video_id, vendor, observed_on, is_restated, views_gained, likes_gained, comments_gained, shares_gained,
        saves_gained, vendor_priority, is_interpolated
    from series_gains
    where views_gained is not null or is_restated
    union all
    select video_id, vendor, observed_on, is_restated, views_gained, likes_gained, comments_gained, shares_gained,
        saves_gained, vendor_priority, false as is_interpolated
    from ranking_gains
),

day_gains as (
    -- the counters' own series first, so counters and gains agree whenever they can
    select gain_candidates.*
    from gain_candidates
    left join day_counters
        on day_counters.video_id = gain_candidates.video_id
        and day_counters.observed_on = gain_candidates.observed_on
    qualify row_number() over (
        partition by gain_candidates.video_id, gain_candidates.observed_on
        order by
            gain_candidates.vendor is not distinct from day_counters.vendor desc,
            gain_candidates.is_interpolated,
            gain_candidates.vendor_priority
    ) = 1
),

day_vendors as (
    select video_id, observed_on, list_sort(list_distinct(list(vendor))) as vendors
    from observations
    group by video_id, observed_on
),

video_days as (
    select
        coalesce(day_counters.video_id, day_gains.video_id) as video_id,
        coalesce(day_counters.observed_on, day_gains.observed_on) as observed_on,
        day_counters.views,
        day_counters.likes,
        day_counters.comments,
        day_counters.shares,
        day_counters.saves,
        day_counters.vendor as counter_vendor,
        coalesce(day_counters.is_interpolated, day_gains.is_interpolated) as is_interpolated,
        day_gains.views_gained,
        day_gains.likes_gained,
        day_gains.comments_gained,
        day_gains.shares_gained,
        day_gains.saves_gained,
        day_gains.vendor as gain_vendor,
        coalesce(day_gains.is_restated, false) or coalesce(day_counters.is_restated, false) as is_restated
    from day_counters
    full outer join day_gains
        on day_gains.video_id = day_counters.video_id
        and day_gains.observed_on = day_counters.observed_on
),

velocity as (
    select
        video_days.*,
        coalesce(day_vendors.vendors, []) as vendors,
        sum(views_gained) over trailing_week as views_gained_7d,
        count(views_gained) over trailing_week as gain_days_7d,
        sum(case when likes_gained is not null and comments_gained is not null and shares_gained is not null
            then likes_gained + comments_gained + shares_gained end) over trailing_week as engagements_gained_7d,
        sum(case when likes_gained is not null and comments_gained is not null and shares_gained is not null
            then views_gained end) over trailing_week as engaged_views_gained_7d
    from video_days
    left join day_vendors using (video_id, observed_on)
    window trailing_week as (
        partition by video_id order by observed_on range between interval 6 day preceding and current row
    )
),

velocity_per_day as (
    select
        *,
        views_gained_7d / nullif(gain_days_7d, 0) as velocity_7d
    from velocity
),

final as (
    -- acceleration: the change of the 7-day velocity since the day before (views per day, per day)
    select
        *,
        case when lag(observed_on) over video_timeline = observed_on - interval 1 day
            then velocity_7d - lag(velocity_7d) over video_timeline
        end as acceleration_7d
    from velocity_per_day
    window video_timeline as (partition by video_id order by observed_on)
)

select
    video_id,
    observed_on,
    views,
    likes,
    comments,
    shares,
    saves,
    counter_vendor,
    is_interpolated,
    views_gained,
    likes_gained,
    comments_gained,
    shares_gained,
    saves_gained,
    gain_vendor,
    is_restated,
    views_gained_7d,
    gain_days_7d,
    velocity_7d,
    acceleration_7d,
    (likes + comments + shares) / nullif(views, 0) as engagement_rate,
    engagements_gained_7d / nullif(engaged_views_gained_7d, 0) as engagement_rate_7d,
    vendors
from final
where {{ incremental_window('observed_on', lookback_days=7) }}
