-- Question 4: what are the top products and GMV per category (last 7 days of keyapi's daily sales rankings, all regions)?
with as_of_day as (
    select max(observed_on) as as_of from {{ ref('fct_product_sales_daily') }}
),

products as (
    select
        coalesce(sales.product_category, 'unknown') as product_category,
        sales.product_id,
        sum(sales.gmv_gained) as gmv,
        sum(sales.units_sold_gained) as units_sold,
        list_sort(list_distinct(list(sales.region))) as regions
    from {{ ref('fct_product_sales_daily') }} as sales
    cross join as_of_day
    where sales.observed_on > as_of_day.as_of - interval 7 day
    group by all
),

ranked as (
    select
        *,
        sum(gmv) over (partition by product_category) as category_gmv,
        row_number() over (partition by product_category order by gmv desc, product_id) as rank_in_category
    from products
)

select
    product_category,
    category_gmv,
    rank_in_category,
    product_id,
    gmv,
    units_sold,
    gmv / nullif(category_gmv, 0) as share_of_category_gmv,
    regions
from ranked
where rank_in_category <= 3
order by category_gmv desc, product_category, rank_in_category
