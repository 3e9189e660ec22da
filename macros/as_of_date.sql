{#
    The date every figure is computed as of, as a SQL date expression. Set the var `as_of_date`
    (ISO yyyy-mm-dd) for reproducible figures; by default it is the day the run started, in UTC,
    so every model of one run agrees on "today" even across midnight.
#}
{% macro as_of_date() -%}
    {%- set configured = var('as_of_date', none) -%}
    {%- if configured is none or configured | string | trim == '' -%}
        {%- set day = run_started_at.strftime('%Y-%m-%d') -%}
    {%- else -%}
        {%- set day = configured | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', day) -%}
            {{ exceptions.raise_compiler_error(
                "var as_of_date must be an ISO date such as 2025-06-30, got '" ~ day ~ "'"
            ) }}
        {%- endif -%}
    {%- endif -%}
    cast('{{ day }}' as date)
{%- endmacro %}
