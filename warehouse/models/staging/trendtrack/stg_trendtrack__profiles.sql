-- one row per (creator_id): each Trendtrack profile (a TikTok creator page), its current state
with source as (
    select * from {{ source('raw_trendtrack', 'profiles') }}
),

renamed as (
    select
        'trendtrack' as vendor,
        profile_id as creator_id,
        lower(ltrim(handle, '@')) as creator_handle,
        sec_uid as creator_sec_uid,
        name as creator_nickname,
        avatar_url as creator_avatar_url,
        bio,
        bio_url,
        account_type,
        page_creation as page_created_at,
        observed_at,
        observed_on,
        followers,
        following,
        total_tiktoks as posts,
        new_tiktoks as new_posts,
        views,
        likes,
        percent_ads,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by creator_id order by load_id desc) = 1
)

select * from deduplicated
