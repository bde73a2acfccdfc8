-- one row per (comment_id): comments on watched posts, latest pull
with source as (
    select * from {{ source('raw_ensembledata', 'comments') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        comment_id,
        aweme_id as video_id,
        user_uid as commenter_user_id,
        text as comment_text,
        create_time as commented_at,
        likes,
        replies,
        observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by comment_id order by load_id desc) = 1
)

select * from deduplicated
