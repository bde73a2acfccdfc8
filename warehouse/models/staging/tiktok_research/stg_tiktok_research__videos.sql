-- one row per (query_name, video_id): a video a watched Research query matched, with its counts at pull time
with source as (
    select * from {{ source('raw_tiktok_research', 'videos') }}
),

renamed as (
    select
        'tiktok_research' as vendor,
        query_name,
        id as video_id,
        -- a handle never holds control characters: a NUL the API sends inside one is dropped, so the
        -- creator joins the handle other vendors know it by (raw keeps the username as sent)
        lower(ltrim(regexp_replace(username, '[\x00-\x1f\x7f]', '', 'g'), '@')) as creator_handle,
        create_time as video_created_at,
        create_day as created_on,
        pulled_at as observed_at,
        cast(timezone('UTC', pulled_at) as date) as observed_on,
        region_code as region,
        video_description,
        voice_to_text,
        music_id,
        playlist_id,
        view_count as views,
        like_count as likes,
        comment_count as comments,
        share_count as shares,
        favorites_count as saves,
        video_duration as duration_seconds,
        duration_type,
        is_stem_verified,
        list_transform(cast(hashtag_names as varchar[]), tag -> lower(ltrim(tag, '#'))) as hashtags,
        -- effect ids are digit strings: kept as text, never through a double
        cast(effect_ids as varchar[]) as effect_ids,
        list_transform(cast(video_mention_list as varchar[]), handle -> lower(ltrim(handle, '@')))
            as mentioned_handles,
        hashtag_info_list,
        video_label,
        log_id as request_id,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    -- a re-pulled publish day keeps only its most recent load
    select *
    from renamed
    qualify row_number() over (partition by query_name, video_id order by load_id desc) = 1
)

select * from deduplicated
