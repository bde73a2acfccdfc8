-- one row per (watch_key, observed_on, item_id): which watch entry found which library item, and where
with source as (
    select * from {{ source('raw_trendtrack', 'library_search_hits') }}
),

renamed as (
    select
        'trendtrack' as vendor,
        watch_key,
        split_part(watch_key, ':', 1) as watch_kind,
        observed_on,
        item_id,
        position,
        endpoint,
        request_id,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by watch_key, observed_on, item_id order by load_id desc) = 1
)

select * from deduplicated
