{#
    on-run-end hook: let the Power BI role into schema `analytics`. Table grants come from the
    `grants` config; schema usage is not a model property, so it is granted here, on every run.
    Does nothing when the schema or the role does not exist (a partial run, a fresh server).
#}
{% macro grant_analytics_schema_usage(role) -%}
    {%- if execute -%}
        do $grant$
        begin
            if exists (select from pg_catalog.pg_namespace where nspname = 'analytics')
                and exists (select from pg_catalog.pg_roles where rolname = '{{ role }}')
            then
                grant usage on schema analytics to {{ role }};
            end if;
        end
        $grant$
    {%- endif -%}
{%- endmacro %}
