-- one row per (video_id): EnsembleData's posts (TikTok "aweme" objects), latest attributes
with source as (
    select * from {{ source('raw_ensembledata', 'videos') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        aweme_id as video_id,
        cast(author_uid as varchar) as creator_id,
        author_uid as creator_user_id,
        lower(ltrim(author_unique_id, '@')) as creator_handle,
        description as video_description,
        create_time as video_created_at,
        region,
        duration_ms,
        music_id,
        observed_at,
        cast(timezone('UTC', observed_at) as date) as observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by video_id order by load_id desc) = 1
)

select * from deduplicated
