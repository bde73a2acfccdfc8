{#-
  The day window an incremental model recomputes: `column >= start_date and column < end_date`.

  Dagster's day-partitioned dbt assets (assets/warehouse.py) pass a run's partition window as
  `--vars '{"start_date": "2025-01-07", "end_date": "2025-01-08"}'` (UTC days, end exclusive);
  a backfill of a range passes the whole range in one run. The predicate is `true` (every day)
  on the first build, with `--full-refresh`, and when no window is passed (a plain `dbt build`),
  so a full rebuild gives the same rows as the nightly runs did.

  Usage in a large fact. The day column is a DATE (the UTC day) and is the `unique_key`, so
  delete+insert replaces exactly the days the run computed; Dagster partitions every model
  with `materialized='incremental'` by day:

    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='observed_on',
        on_schema_change='fail'
    ) }}
    with observations as (
        select ...
        from {{ ref('fct_video_observations') }}
        -- read the days the window functions below look back over...
        where {{ incremental_window('observed_on', lookback_days=7) }}
    ),
    ...
    final as (...)
    select * from final
    -- ...and emit only the run's days
    where {{ incremental_window('observed_on') }}

  For "full rebuild = nightly runs" a day's row may depend only on the `lookback_days` days
  before it: bound every window function in days, e.g. the previous day's value with
  `max(views) over (partition by video_id order by observed_on
                    range between interval 1 day preceding and interval 1 day preceding)`
  and 7-day sums with `range between interval 6 day preceding and current row`, never an
  unbounded `lag()` over observations (a gap would reach outside the look-back).
-#}
{% macro incremental_window(column, lookback_days=0) -%}
    {%- set start_date = var('start_date', none) -%}
    {%- set end_date = var('end_date', none) -%}
    {%- if is_incremental() and start_date is not none and end_date is not none -%}
        {%- if lookback_days | int > 0 -%}
            ({{ column }} >= date '{{ start_date }}' - interval {{ lookback_days | int }} day
            and {{ column }} < date '{{ end_date }}')
        {%- else -%}
            ({{ column }} >= date '{{ start_date }}' and {{ column }} < date '{{ end_date }}')
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
  The same window as instants, for a TIMESTAMPTZ column: `column >= <start_date 00:00 UTC> and
  column < <end_date 00:00 UTC>`, with `lookback_days` more days before. Read a source by the
  column its de-duplication partitions on: DuckDB pushes this predicate into the DuckLake scan,
  while a predicate on a day derived from the instant (`cast(timezone('UTC', observed_at) as
  date)`) stops above the staging view's window and every day of history is read and sorted.
-#}
{% macro incremental_instant_window(column, lookback_days=0) -%}
    {%- set start_date = var('start_date', none) -%}
    {%- set end_date = var('end_date', none) -%}
    {%- if is_incremental() and start_date is not none and end_date is not none -%}
        {%- set first_day = modules.datetime.date.fromisoformat(start_date | string)
            - modules.datetime.timedelta(days=lookback_days | int) -%}
        ({{ column }} >= timestamptz '{{ first_day }} 00:00:00+00'
        and {{ column }} < timestamptz '{{ end_date }} 00:00:00+00')
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
