-- one row per (video_id, observed_on): EnsembleData's daily counter snapshot of each post
with source as (
    select * from {{ source('raw_ensembledata', 'video_stats') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        aweme_id as video_id,
        observed_at,
        observed_on,
        plays as views,
        likes,
        comments,
        shares,
        saves,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by video_id, observed_on order by load_id desc) = 1
)

select * from deduplicated
