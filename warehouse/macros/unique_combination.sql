{#-
  Generic data test: no two rows share the same values of `columns` (the model's grain).
  dbt_utils is not available (nothing downloads), so the grain test lives here.

  Usage, at model level in a models YAML:
    data_tests:
      - unique_combination:
          arguments:
            columns: [observed_on, video_id]
  Failing rows: one per duplicated combination, with `n_records`; zero rows passes.
-#}
{% test unique_combination(model, columns) %}
    {%- set grain = columns | join(', ') %}
    select {{ grain }}, count(*) as n_records
    from {{ model }}
    group by {{ grain }}
    having count(*) > 1
{% endtest %}
