{#- Models land in the schema their folder names (`staging`, `marts`), not `main_staging`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
