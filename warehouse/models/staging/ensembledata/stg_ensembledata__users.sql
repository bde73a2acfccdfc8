-- one row per (creator_user_id): EnsembleData's creators (post authors and watched users)
with source as (
    select * from {{ source('raw_ensembledata', 'users') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        cast(uid as varchar) as creator_id,
        uid as creator_user_id,
        lower(ltrim(unique_id, '@')) as creator_handle,
        sec_uid as creator_sec_uid,
        nickname as creator_nickname,
        observed_at,
        cast(timezone('UTC', observed_at) as date) as observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by creator_user_id order by load_id desc) = 1
)

select * from deduplicated
