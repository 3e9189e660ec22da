{#
    Fingerprint of what an incremental model's rows depend on besides data: its own SQL, the SQL
    of the models it reads, and the vars that change values (reporting_timezone decides every
    local date). Stored as the table's comment after each build; a build that finds another
    fingerprint recomputes every row instead of the changed ones, so editing the model, its
    staging inputs or the time zone never leaves stale rows behind.
#}
{% macro incremental_fingerprint() -%}
    {%- set parts = [model.raw_code, 'reporting_timezone=' ~ var('reporting_timezone')] -%}
    {%- if execute -%}
        {%- for node_id in model.depends_on.nodes | sort -%}
            {%- set node = graph.nodes.get(node_id) -%}
            {%- if node is not none and node.raw_code -%}
                {%- do parts.append(node_id ~ '\n' ~ node.raw_code) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return('dbt incremental fingerprint ' ~ local_md5(parts | join('\n'))) -}}
{%- endmacro %}


{#
    True when an incremental run may touch only changed rows: the table exists and carries the
    current fingerprint. False at parse time, on the first build and after --full-refresh (dbt
    rebuilds the table then anyway).
#}
{% macro incremental_fingerprint_matches() -%}
    {%- if not (execute and is_incremental()) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set stored = run_query(
        "select obj_description(cast('" ~ this ~ "' as regclass), 'pg_class')"
    ).columns[0].values()[0] -%}
    {{- return(stored == incremental_fingerprint()) -}}
{%- endmacro %}


{# post-hook of incremental models: record the fingerprint the rows were built with. #}
{% macro record_incremental_fingerprint(relation) -%}
    comment on table {{ relation }} is '{{ incremental_fingerprint() }}'
{%- endmacro %}


{#
    True when the rows changed within the lookback window are few (at most max_share of the
    table). Recomputing only the candidates pays off then; when most rows changed recently (a
    whole history imported this week) one pass over everything is faster than a join per row.
#}
{% macro incremental_window_is_small(relation, timestamp_column, lookback_days, max_share=0.1) -%}
    {%- if not execute -%}
        {{- return(false) -}}
    {%- endif -%}
    {#- Exact counts: the planner's reltuples lags behind right after a large insert. -#}
    {%- set answer = run_query(
        "select count(*) filter (where " ~ timestamp_column ~ " >= (select max("
        ~ timestamp_column ~ ") from " ~ relation ~ ") - interval '" ~ lookback_days
        ~ " days') <= " ~ max_share ~ " * count(*) and count(*) > 0 from " ~ relation
    ) -%}
    {{- return(answer.columns[0].values()[0] is true) -}}
{%- endmacro %}
