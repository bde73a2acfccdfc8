-- one row per (music_id, observed_on): EnsembleData's daily post count of each watched sound
with source as (
    select * from {{ source('raw_ensembledata', 'music_stats') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        music_id,
        observed_on,
        posts,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by music_id, observed_on order by load_id desc) = 1
)

select * from deduplicated
