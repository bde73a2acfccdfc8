-- one row per (item_id, media_source, position): the media files of each library item, its latest list
with source as (
    select * from {{ source('raw_trendtrack', 'library_item_media') }}
    -- dlt's hard-delete marker is never stored; a set one would be a removed list
    where deleted is distinct from true
),

renamed as (
    select
        'trendtrack' as vendor,
        item_id,
        source as media_source,
        position,
        media_type,
        url as media_url,
        media_order,
        observed_at,
        observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by item_id, media_source, position
        order by load_id desc
    ) = 1
)

select * from deduplicated
