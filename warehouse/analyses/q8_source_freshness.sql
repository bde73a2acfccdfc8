-- Question 8: how fresh is each source: per raw table (through its staging model), the last load and the newest day it describes?
{%- set sources = [
    ('raw_keyapi', 'video_rankings_daily', 'stg_keyapi__video_rankings_daily', 'observed_on'),
    ('raw_keyapi', 'video_rankings_weekly', 'stg_keyapi__video_rankings_weekly', 'observed_on'),
    ('raw_keyapi', 'video_rankings_monthly', 'stg_keyapi__video_rankings_monthly', 'observed_on'),
    ('raw_tiktok_research', 'videos', 'stg_tiktok_research__videos', 'observed_on'),
    ('raw_influtics', 'video_stats', 'stg_influtics__video_stats', 'observed_on'),
    ('raw_influtics', 'stats_points', 'stg_influtics__stats_points', 'observed_on'),
    ('raw_influtics', 'stats_quarantine', 'stg_influtics__stats_quarantine', 'pulled_on'),
    ('raw_trendtrack', 'library_items', 'stg_trendtrack__library_items', 'observed_on'),
    ('raw_trendtrack', 'library_item_metrics', 'stg_trendtrack__library_item_metrics', 'observed_on'),
    ('raw_trendtrack', 'library_item_hashtags', 'stg_trendtrack__library_item_hashtags', 'observed_on'),
    ('raw_trendtrack', 'library_item_media', 'stg_trendtrack__library_item_media', 'observed_on'),
    ('raw_trendtrack', 'library_search_hits', 'stg_trendtrack__library_search_hits', 'observed_on'),
    ('raw_trendtrack', 'profiles', 'stg_trendtrack__profiles', 'observed_on'),
    ('raw_trendtrack', 'page_snapshots', 'stg_trendtrack__page_snapshots', 'observed_on'),
    ('raw_trendtrack', 'shops', 'stg_trendtrack__shops', 'observed_on'),
    ('raw_ensembledata', 'videos', 'stg_ensembledata__videos', 'observed_on'),
    ('raw_ensembledata', 'video_stats', 'stg_ensembledata__video_stats', 'observed_on'),
    ('raw_ensembledata', 'video_hashtags', 'stg_ensembledata__video_hashtags', none),
    ('raw_ensembledata', 'users', 'stg_ensembledata__users', 'observed_on'),
    ('raw_ensembledata', 'user_stats', 'stg_ensembledata__user_stats', 'observed_on'),
    ('raw_ensembledata', 'music', 'stg_ensembledata__music', 'observed_on'),
    ('raw_ensembledata', 'music_stats', 'stg_ensembledata__music_stats', 'observed_on'),
    ('raw_ensembledata', 'comments', 'stg_ensembledata__comments', 'observed_on'),
    ('raw_ensembledata', 'follows', 'stg_ensembledata__follows', 'observed_on'),
    ('raw_ensembledata', 'search_hits', 'stg_ensembledata__search_hits', 'observed_on'),
] %}
-- dlt's load id is the load's start in epoch seconds: its maximum is when the table last received rows
with freshness as (
    {%- for schema, table, model, day_column in sources %}
    select
        '{{ schema }}.{{ table }}' as raw_table,
        '{{ model }}' as staging_model,
        count(*) as row_count,
        to_timestamp(max(cast(load_id as double))) as last_loaded_at,
        {{ 'max(' ~ day_column ~ ')' if day_column else 'cast(null as date)' }} as newest_observed_on
    from {{ ref(model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    split_part(raw_table, '.', 1) as source,
    raw_table,
    staging_model,
    row_count,
    last_loaded_at,
    newest_observed_on,
    round(epoch(now() - last_loaded_at) / 3600, 1) as hours_since_load
from freshness
order by source, raw_table
