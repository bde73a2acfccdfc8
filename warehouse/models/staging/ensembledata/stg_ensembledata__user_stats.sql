-- one row per (creator_user_id, observed_on): EnsembleData's daily snapshot of each watched creator
with source as (
    select * from {{ source('raw_ensembledata', 'user_stats') }}
),

renamed as (
    select
        'ensembledata' as vendor,
        cast(uid as varchar) as creator_id,
        uid as creator_user_id,
        observed_at,
        observed_on,
        followers,
        followings as following,
        videos as posts,
        likes,
        region,
        signature as bio,
        verified as is_verified,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by creator_user_id, observed_on order by load_id desc) = 1
)

select * from deduplicated
