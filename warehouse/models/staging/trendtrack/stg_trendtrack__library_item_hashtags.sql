-- one row per (item_id, position): the hashtags of each library item, its latest list
with source as (
    select * from {{ source('raw_trendtrack', 'library_item_hashtags') }}
    -- dlt's hard-delete marker is never stored; a set one would be a removed list
    where deleted is distinct from true
),

renamed as (
    select
        'trendtrack' as vendor,
        item_id,
        position,
        lower(ltrim(hashtag, '#')) as hashtag,
        observed_at,
        observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by item_id, position order by load_id desc) = 1
)

select * from deduplicated
