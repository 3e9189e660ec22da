{#
    Use a folder's custom schema name verbatim (`analytics`, `staging` ...), not dbt's default
    `<target schema>_<custom schema>`: Power BI and the grants name schema `analytics` exactly.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
