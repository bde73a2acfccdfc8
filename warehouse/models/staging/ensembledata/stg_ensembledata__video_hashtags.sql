-- one row per (video_id, position): the hashtags of each post (its text_extra), in caption order
with source as (
    select * from {{ source('raw_ensembledata', 'video_hashtags') }}
    -- dlt's hard-delete marker is never stored; a set one would be a removed list
    where deleted is distinct from true
),

renamed as (
    select
        'ensembledata' as vendor,
        aweme_id as video_id,
        position,
        lower(ltrim(hashtag, '#')) as hashtag,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by video_id, position order by load_id desc) = 1
)

select * from deduplicated
