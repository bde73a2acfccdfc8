-- one row per (music_id): EnsembleData's sounds, latest attributes
with source as (
    select * from {{ source('raw_ensembledata', 'music') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        music_id,
        title as music_title,
        author as music_author,
        observed_at,
        cast(timezone('UTC', observed_at) as date) as observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by music_id order by load_id desc) = 1
)

select * from deduplicated
