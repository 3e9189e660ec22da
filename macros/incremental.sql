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


{#
    post-hook of incremental models: record the fingerprint the rows were built with. Only when
    it changed: COMMENT ON waits for a lock that autovacuum holds while it cleans the table, and
    a night that changes no SQL has no reason to wait.
#}
{% macro record_incremental_fingerprint(relation) -%}
    do $fingerprint$
    begin
        if obj_description(cast('{{ relation }}' as regclass), 'pg_class')
            is distinct from '{{ incremental_fingerprint() }}'
        then
            comment on table {{ relation }} is '{{ incremental_fingerprint() }}';
        end if;
    end
    $fingerprint$
{%- endmacro %}


{#
    The start of an incremental run's lookback window: the newest change `relation` holds minus
    lookback_days, as an ISO 8601 literal in UTC, so the planner sees a constant and uses the
    indexes on the change timestamp. None for an empty table.
#}
{% macro incremental_cutoff(relation, timestamp_column, lookback_days) -%}
    {%- set cutoff_query -%}
        select to_char(
            (max({{ timestamp_column }}) - interval '{{ lookback_days }} days') at time zone 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS.US"+00"'
        )
        from {{ relation }}
    {%- endset -%}
    {{- return(run_query(cutoff_query).columns[0].values()[0]) -}}
{%- endmacro %}


{#
    The lookback window of an incremental run, read before its SQL is rendered:
    - cutoff: incremental_cutoff;
    - is_small: at most max_share of the table's rows changed since the cutoff. Recomputing only
      the candidates pays off then; when most rows changed recently (a whole history imported
      this week) one pass over everything is faster than a lookup per row;
    - may_miss_rows: the source's keys are not exactly the table's plus the source's new keys
      since the cutoff. Then some source row older than the window is missing from the table
      (written with the insert stamp switched off, or by a transaction open for longer than the
      lookback, or removed from the table by hand), or a source row was deleted, and the run
      must compare every key once. Compared as a count and an order-free checksum of the keys
      (a sum of their 64-bit hashes), so a deletion and a missing row cannot cancel out.
    One pass over each relation (exact: the planner's reltuples lags behind right after a large
    insert). An empty table has no window: cutoff none, is_small false. The key is a uuid.
#}
{% macro incremental_window(
    relation, source_relation, key, timestamp_column, lookback_days, max_share=0.1
) -%}
    {%- set nothing = {'cutoff': none, 'is_small': false, 'may_miss_rows': true} -%}
    {%- if not execute -%}
        {{- return(nothing) -}}
    {%- endif -%}
    {%- set cutoff = incremental_cutoff(relation, timestamp_column, lookback_days) -%}
    {%- if cutoff is none -%}
        {{- return(nothing) -}}
    {%- endif -%}
    {%- set keys -%}
        count(*) as row_count, coalesce(sum(uuid_hash_extended({{ key }}, 0)), 0) as key_sum
    {%- endset -%}
    {%- set window_query -%}
        select
            recent.row_count <= {{ max_share }} * target_keys.row_count as is_small,
            source_keys.row_count - target_keys.row_count <> new_keys.row_count
            or source_keys.key_sum - target_keys.key_sum <> new_keys.key_sum as may_miss_rows
        from (select {{ keys }} from {{ relation }}) as target_keys
        cross join (select {{ keys }} from {{ source_relation }}) as source_keys
        cross join (
            select count(*) as row_count
            from {{ relation }}
            where {{ timestamp_column }} >= cast('{{ cutoff }}' as timestamptz)
        ) as recent
        cross join (
            select {{ keys }}
            from {{ source_relation }} as source_rows
            where
                source_rows.{{ timestamp_column }} >= cast('{{ cutoff }}' as timestamptz)
                and not exists (
                    select
                    from {{ relation }} as target_rows
                    where target_rows.{{ key }} = source_rows.{{ key }}
                )
        ) as new_keys
    {%- endset -%}
    {%- set answer = run_query(window_query).rows[0] -%}
    {{- return({
        'cutoff': cutoff,
        'is_small': answer[0] is true,
        'may_miss_rows': answer[1] is not false,
    }) -}}
{%- endmacro %}


{#
    The candidate selection of an incremental model whose rows mirror one source row each (by
    `key`) and also depend on parent rows (a project, contact or lead an activity belongs to).
    Called once, before the model's SQL, with the names of its import CTEs; returns
    - sql: the select of the rows this run recomputes, for the model's candidates CTE:
      - every row of `source` on the first build, after --full-refresh, when the fingerprint
        changed, and when more than max_share of the table changed within the window;
      - otherwise only candidates, one index lookup per branch: rows of `source` changed since
        the window's start (the newest change the table holds minus lookback_days, a literal),
        rows whose parent (each CTE of `parents`, sharing its key column with `source`) changed
        since then, and, when the keys' count and checksum say a row may be missing or deleted,
        rows not in the table at all (an anti-join over every key). Parents' keys are collected
        into an array first: PostgreSQL pushes `= any(array(...))` down into a staging view and
        onto its index, which it does not do for a join;
    - write_only_changed: true when every row was recomputed although the table carries the
      current fingerprint; the model then writes only the rows that differ from the table's
      (candidates are simply rewritten).
    The source and parent CTEs are read several times: declare them `not materialized`. This
    macro decides which rows are recomputed, not their values, and is not in the fingerprint.
#}
{% macro incremental_candidates(
    source, source_relation, key, parents, lookback_days, timestamp_column='updated_at',
    max_share=0.1
) -%}
    {%- set compare_with_table = incremental_fingerprint_matches() -%}
    {%- set window = incremental_window(
        this, source_relation, key, timestamp_column, lookback_days, max_share
    ) if compare_with_table else none -%}
    {%- set only_candidates = window is not none and window.is_small -%}
    {%- set look_for_missing = only_candidates and window.may_miss_rows -%}
    {%- set sql -%}
    {%- if only_candidates %}
    -- Candidates only: new or changed since the window's start, or tied to a parent that
    -- changed; one branch each, so each is an index lookup rather than a pass over every row.
    -- (Changed parents' keys are collected into an array first: PostgreSQL pushes that down
    -- into the staging view and onto its index, which it does not do for a join with it.)
    select {{ source }}.*
    from {{ source }}
    where {{ source }}.{{ timestamp_column }} >= cast('{{ window.cutoff }}' as timestamptz)
    {%- for parent, parent_key in parents.items() %}

    union

    select {{ source }}.*
    from {{ source }}
    where {{ source }}.{{ parent_key }} = any(array(
        select {{ parent }}.{{ parent_key }}
        from {{ parent }}
        where {{ parent }}.{{ timestamp_column }} >= cast('{{ window.cutoff }}' as timestamptz)
    ))
    {%- endfor %}
    {%- if look_for_missing %}

    union

    -- Not in the table at all, whatever their timestamps say.
    select {{ source }}.*
    from {{ source }}
    left join {{ this }} as existing
        on {{ source }}.{{ key }} = existing.{{ key }}
    where existing.{{ key }} is null
    {%- endif %}
    {%- else %}
    select {{ source }}.*
    from {{ source }}
    {%- endif %}
    {%- endset -%}
    {{- return({
        'sql': sql | trim,
        'write_only_changed': compare_with_table and not only_candidates,
    }) -}}
{%- endmacro %}


{#
    The lookback window of an incremental model whose rows are not one per source row (the
    bridge fct_activity_relations): cutoff (incremental_cutoff), and is_small when at most
    max_share of the table's rows changed since then. Rows missing from or no longer in the
    source are the model's post-hook's to find (reconcile_rows).
#}
{% macro incremental_recent(relation, timestamp_column, lookback_days, max_share=0.1) -%}
    {%- set cutoff = incremental_cutoff(relation, timestamp_column, lookback_days) -%}
    {%- if cutoff is none -%}
        {{- return({'cutoff': none, 'is_small': false}) -}}
    {%- endif -%}
    {%- set share_query -%}
        select
            (
                select count(*)
                from {{ relation }}
                where {{ timestamp_column }} >= cast('{{ cutoff }}' as timestamptz)
            ) <= {{ max_share }} * (select count(*) from {{ relation }})
    {%- endset -%}
    {{- return({'cutoff': cutoff, 'is_small': run_query(share_query).columns[0].values()[0]}) -}}
{%- endmacro %}


{#
    post-hook of an incremental model that copies the rows of changed parents from a view
    (fct_activity_relations from int_activity_people): make the table hold exactly the view's
    keys. Rows can go missing or stay behind in ways no timestamp shows: a relation deleted, an
    activity deleted or left without a person, a row written with the insert stamp switched
    off, rows deleted from the table by hand. A count and an order-free checksum of the keys
    (`key_expression`, a bigint computed from columns both have, summed) compare the two in one
    pass over each; only when they differ is every key compared, by an anti-join each way, and
    the difference deleted or copied.
#}
{% macro reconcile_rows(relation, view_relation, key, key_expression, columns) -%}
    do $reconcile$
    begin
        if (
            select row(count(*), coalesce(sum({{ key_expression }}), 0)) from {{ relation }}
        ) is distinct from (
            select row(count(*), coalesce(sum({{ key_expression }}), 0)) from {{ view_relation }}
        )
        then
            delete from {{ relation }} as target_rows
            where not exists (
                select
                from {{ view_relation }} as source_rows
                where source_rows.{{ key }} = target_rows.{{ key }}
            );
            insert into {{ relation }} ({{ columns | join(', ') }})
            select {{ columns | join(', ') }}
            from {{ view_relation }} as source_rows
            where not exists (
                select
                from {{ relation }} as target_rows
                where target_rows.{{ key }} = source_rows.{{ key }}
            );
        end if;
    end
    $reconcile$
{%- endmacro %}
