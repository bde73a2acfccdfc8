-- Question 7: what is trending now across vendors (videos, creators, hashtags, sounds), and why?
select
    entity_type,
    rank,
    entity_id,
    label,
    as_of,
    velocity_24h,
    velocity_7d,
    vendors,
    reason
from {{ ref('trending_now') }}
where rank <= 10
order by entity_type, rank
