-- one row per (watch_key, observed_on, video_id): which watch entry found which post, and where
with source as (
    select * from {{ source('raw_ensembledata', 'search_hits') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        watch_key,
        split_part(watch_key, ':', 1) as watch_kind,
        observed_on,
        aweme_id as video_id,
        position,
        endpoint,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by watch_key, observed_on, video_id
        order by load_id desc
    ) = 1
)

select * from deduplicated
