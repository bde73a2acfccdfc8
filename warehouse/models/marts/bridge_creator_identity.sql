-- one row per (identity_kind, identity_value): every id a vendor knows a creator by, mapped to one creator_key
-- Vendors name creators four ways: the TikTok user id (keyapi, EnsembleData), the sec_uid (EnsembleData, Trendtrack),
-- the handle (all of them) and Trendtrack's own profile id. Two sightings are one creator when they share a user id, a
-- sec_uid or a handle; creator_key is the TikTok user id (as text) when any linked sighting knows it, else
-- 'sec_uid:<sec_uid>', else '@<handle>'. A handle that moved to another account belongs to its latest owner.
with sightings as (
    select vendor, observed_at, creator_user_id, cast(null as varchar) as creator_sec_uid, creator_handle,
        cast(null as varchar) as trendtrack_profile_id
    from {{ ref('stg_keyapi__video_rankings_daily') }}
    union all
    select vendor, observed_at, creator_user_id, null, creator_handle, null
    from {{ ref('stg_keyapi__video_rankings_weekly') }}
    union all
    select vendor, observed_at, creator_user_id, null, creator_handle, null
    from {{ ref('stg_keyapi__video_rankings_monthly') }}
    union all
    select vendor, observed_at, null, null, creator_handle, null
    from {{ ref('stg_tiktok_research__videos') }}
    union all
    select vendor, observed_at, creator_user_id, creator_sec_uid, creator_handle, null
    from {{ ref('stg_ensembledata__users') }}
    union all
    select vendor, observed_at, creator_user_id, null, creator_handle, null
    from {{ ref('stg_ensembledata__videos') }}
    union all
    select vendor, observed_at, creator_user_id, null, null, null
    from {{ ref('stg_ensembledata__user_stats') }}
    union all
    select vendor, observed_at, null, creator_sec_uid, creator_handle, creator_id
    from {{ ref('stg_trendtrack__profiles') }}
),

known_sightings as (
    select *
    from sightings
    where creator_user_id is not null or creator_sec_uid is not null or creator_handle is not null
),

sec_uid_by_handle as (
    select creator_handle, arg_max(creator_sec_uid, (observed_at, creator_sec_uid)) as creator_sec_uid
    from known_sightings
    where creator_handle is not null and creator_sec_uid is not null
    group by creator_handle
),

user_id_by_sec_uid as (
    select creator_sec_uid, arg_max(creator_user_id, (observed_at, creator_user_id)) as creator_user_id
    from known_sightings
    where creator_sec_uid is not null and creator_user_id is not null
    group by creator_sec_uid
),

user_id_by_handle as (
    select creator_handle, arg_max(creator_user_id, (observed_at, creator_user_id)) as creator_user_id
    from known_sightings
    where creator_handle is not null and creator_user_id is not null
    group by creator_handle
),

resolved as (
    select
        sightings.vendor,
        sightings.observed_at,
        sightings.creator_user_id,
        sightings.creator_sec_uid,
        sightings.creator_handle,
        sightings.trendtrack_profile_id,
        coalesce(
            cast(coalesce(sightings.creator_user_id, by_sec_uid.creator_user_id, by_handle.creator_user_id) as varchar),
            'sec_uid:' || coalesce(sightings.creator_sec_uid, sec_uid_by_handle.creator_sec_uid),
            '@' || sightings.creator_handle
        ) as creator_key
    from known_sightings as sightings
    left join sec_uid_by_handle using (creator_handle)
    left join user_id_by_sec_uid as by_sec_uid
        on by_sec_uid.creator_sec_uid = coalesce(sightings.creator_sec_uid, sec_uid_by_handle.creator_sec_uid)
    left join user_id_by_handle as by_handle
        on by_handle.creator_handle = sightings.creator_handle
),

identities as (
    select 'user_id' as identity_kind, cast(creator_user_id as varchar) as identity_value, creator_key, vendor, observed_at
    from resolved
    where creator_user_id is not null
    union all
    select 'sec_uid', creator_sec_uid, creator_key, vendor, observed_at
    from resolved
    where creator_sec_uid is not null
    union all
    select 'handle', creator_handle, creator_key, vendor, observed_at
    from resolved
    where creator_handle is not null
    union all
    select 'trendtrack_profile_id', trendtrack_profile_id, creator_key, vendor, observed_at
    from resolved
    where trendtrack_profile_id is not null
)

select
    identity_kind,
    identity_value,
    arg_max(creator_key, (observed_at, creator_key)) as creator_key,
    list_sort(list_distinct(list(vendor))) as vendors,
    min(observed_at) as first_seen_at,
    max(observed_at) as last_seen_at
from identities
group by identity_kind, identity_value
