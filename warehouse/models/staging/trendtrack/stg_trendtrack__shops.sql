-- one row per (shop_id): each shop behind Trendtrack library items, its current state
with source as (
    select * from {{ source('raw_trendtrack', 'shops') }}
),

renamed as (
    select
        'trendtrack' as vendor,
        shop_id,
        domain as shop_domain,
        name as shop_name,
        logo_url,
        favicon_url,
        country_code,
        monthly_visits,
        traffic_growth_30d,
        products_count,
        cast(google_category_ids as varchar[]) as google_category_ids,
        observed_at,
        observed_on,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select *
    from renamed
    qualify row_number() over (partition by shop_id order by load_id desc) = 1
)

select * from deduplicated
