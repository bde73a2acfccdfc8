-- one row per creator_key: every creator any vendor has seen, joined on user id, sec_uid or handle (bridge_creator_identity)
-- Attributes are the latest any vendor reported (handles and follower counts change); ties go to the more trusted
-- vendor (ensembledata, trendtrack, keyapi, tiktok_research). First and last seen span every vendor's sightings.
with sightings as (
    select vendor, observed_at, creator_user_id, cast(null as varchar) as creator_sec_uid, creator_handle,
        cast(null as varchar) as trendtrack_profile_id, creator_nickname, creator_avatar_url, creator_category,
        region, cast(null as varchar) as bio, cast(null as boolean) as is_verified,
        cast(null as varchar) as account_type, cast(null as bigint) as followers, cast(null as bigint) as following,
        cast(null as bigint) as posts, cast(null as bigint) as likes
    from {{ ref('stg_keyapi__video_rankings_daily') }}
    union all
    select vendor, observed_at, creator_user_id, null, creator_handle, null, creator_nickname, creator_avatar_url,
        creator_category, region, null, null, null, null, null, null, null
    from {{ ref('stg_keyapi__video_rankings_weekly') }}
    union all
    select vendor, observed_at, creator_user_id, null, creator_handle, null, creator_nickname, creator_avatar_url,
        creator_category, region, null, null, null, null, null, null, null
    from {{ ref('stg_keyapi__video_rankings_monthly') }}
    union all
    select vendor, observed_at, null, null, creator_handle, null, null, null, null, region, null, null, null, null,
        null, null, null
    from {{ ref('stg_tiktok_research__videos') }}
    union all
    select vendor, observed_at, creator_user_id, creator_sec_uid, creator_handle, null, creator_nickname, null, null,
        null, null, null, null, null, null, null, null
    from {{ ref('stg_ensembledata__users') }}
    union all
    select vendor, observed_at, creator_user_id, null, creator_handle, null, null, null, null, region, null, null,
        null, null, null, null, null
    from {{ ref('stg_ensembledata__videos') }}
    union all
    select vendor, observed_at, creator_user_id, null, null, null, null, null, null, region, bio, is_verified, null,
        followers, following, posts, likes
    from {{ ref('stg_ensembledata__user_stats') }}
    union all
    select vendor, observed_at, null, creator_sec_uid, creator_handle, creator_id, creator_nickname,
        creator_avatar_url, null, null, bio, null, account_type, followers, following, posts, likes
    from {{ ref('stg_trendtrack__profiles') }}
),

keyed as (
    -- the most specific id a sighting carries decides its creator
    select
        sightings.*,
        coalesce(by_user_id.creator_key, by_sec_uid.creator_key, by_profile.creator_key, by_handle.creator_key)
            as creator_key,
        case sightings.vendor
            when 'ensembledata' then 1
            when 'trendtrack' then 2
            when 'keyapi' then 3
            else 4
        end as vendor_priority
    from sightings
    left join {{ ref('bridge_creator_identity') }} as by_user_id
        on by_user_id.identity_kind = 'user_id'
        and by_user_id.identity_value = cast(sightings.creator_user_id as varchar)
    left join {{ ref('bridge_creator_identity') }} as by_sec_uid
        on by_sec_uid.identity_kind = 'sec_uid' and by_sec_uid.identity_value = sightings.creator_sec_uid
    left join {{ ref('bridge_creator_identity') }} as by_profile
        on by_profile.identity_kind = 'trendtrack_profile_id'
        and by_profile.identity_value = sightings.trendtrack_profile_id
    left join {{ ref('bridge_creator_identity') }} as by_handle
        on by_handle.identity_kind = 'handle' and by_handle.identity_value = sightings.creator_handle
),

creators as (
    select
        creator_key,
        arg_max(creator_user_id, (observed_at, -vendor_priority)) filter (where creator_user_id is not null)
            as creator_user_id,
        arg_max(creator_sec_uid, (observed_at, -vendor_priority)) filter (where creator_sec_uid is not null)
            as creator_sec_uid,
        arg_max(creator_handle, (observed_at, -vendor_priority)) filter (where creator_handle is not null)
            as creator_handle,
        list_sort(list_distinct(list(creator_handle) filter (where creator_handle is not null))) as handles,
        arg_max(trendtrack_profile_id, observed_at) filter (where trendtrack_profile_id is not null)
            as trendtrack_profile_id,
        arg_max(creator_nickname, (observed_at, -vendor_priority)) filter (where creator_nickname is not null)
            as creator_nickname,
        arg_max(creator_avatar_url, (observed_at, -vendor_priority)) filter (where creator_avatar_url is not null)
            as creator_avatar_url,
        arg_max(creator_category, observed_at) filter (where creator_category is not null) as creator_category,
        arg_max(region, (observed_at, -vendor_priority)) filter (where region is not null) as region,
        arg_max(bio, (observed_at, -vendor_priority)) filter (where bio is not null) as bio,
        arg_max(is_verified, observed_at) filter (where is_verified is not null) as is_verified,
        arg_max(account_type, observed_at) filter (where account_type is not null) as account_type,
        arg_max(followers, (observed_at, -vendor_priority)) filter (where followers is not null) as followers,
        arg_max(following, (observed_at, -vendor_priority)) filter (where following is not null) as following,
        arg_max(posts, (observed_at, -vendor_priority)) filter (where posts is not null) as posts,
        arg_max(likes, (observed_at, -vendor_priority)) filter (where likes is not null) as likes,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        list_sort(list_distinct(list(vendor))) as vendors
    from keyed
    where creator_key is not null
    group by creator_key
)

select
    creator_key,
    creator_user_id,
    creator_sec_uid,
    creator_handle,
    handles,
    trendtrack_profile_id,
    creator_nickname,
    creator_avatar_url,
    creator_category,
    region,
    bio,
    is_verified,
    account_type,
    followers,
    following,
    posts,
    likes,
    first_seen_at,
    last_seen_at,
    vendors,
    len(vendors) as vendor_count
from creators
