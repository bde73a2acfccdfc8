-- one row per (influtics_video_id, vendor_field, raw_timestamp): an Influtics value that could not be typed, set aside
with source as (
    select * from {{ source('raw_influtics', 'stats_quarantine') }}
),

renamed as (
    select
        'influtics' as vendor,
        video_id as influtics_video_id,
        tiktok_video_id as video_id,
        external_video_id,
        metric as vendor_field,
        raw_timestamp,
        raw_value,
        reason,
        observed_on as pulled_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (
        partition by influtics_video_id, vendor_field, raw_timestamp
        order by load_id desc
    ) = 1
)

select * from deduplicated
