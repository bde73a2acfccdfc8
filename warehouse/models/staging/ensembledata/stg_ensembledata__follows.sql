-- one row per (creator_user_id, relation, other_user_id): followers / followings of watched creators
with source as (
    select * from {{ source('raw_ensembledata', 'follows') }}
    -- dlt's hard-delete marker is never stored; a set one would be an emptied list
    where deleted is distinct from true
),

renamed as (
    select
        'ensembledata' as vendor,
        cast(uid as varchar) as creator_id,
        uid as creator_user_id,
        relation,
        other_uid as other_user_id,
        position,
        observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by creator_user_id, relation, other_user_id
        order by load_id desc
    ) = 1
)

select * from deduplicated
