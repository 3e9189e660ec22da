{#
    Incremental: a night adds a few hundred activities to a million, so a build recomputes and
    writes only the candidates that can have changed since the previous build:
    - activities whose updated_at (stamped by the database on every insert and change) is at
      most var incremental_lookback_days before the newest one already in the table, the margin
      covering imports whose transaction was still open during the previous build;
    - activities of a project, contact or lead changed in that window (their account may have
      moved, e.g. a lead was converted);
    - activities not in the table at all, whatever their timestamps, on the rare night the
      keys' count and checksum say some may be missing (or were deleted): then an anti-join
      over every key finds them.
    The window's start is a literal and each kind of candidate its own branch, so every lookup
    goes through an index. Of these, only rows that differ from the table's are deleted and
    re-inserted. Deleted activities are removed by the first post-hook. When the model's SQL,
    the staging SQL it reads or reporting_timezone changed since the table was built (a
    fingerprint kept as the table's comment), every row is recomputed and rewritten instead.
    When more than a tenth of the table changed within the window (a history imported this
    week), every row is recomputed but only those that differ are rewritten: one pass over
    everything is faster than a lookup per candidate then. `crm build --full-refresh` rebuilds
    it all.
#}
{{
    config(
        materialized='incremental',
        unique_key='activity_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['activity_id'], 'unique': true},
            {'columns': ['account_id']},
            {'columns': ['occurred_date']},
            {'columns': ['updated_at']},
        ],
        post_hook=[
            "{{ delete_missing_rows(this, ref('stg_crm__activities'), 'activity_id') }}",
            "{{ record_incremental_fingerprint(this) }}",
        ],
    )
}}

{%- set compare_with_table = incremental_fingerprint_matches() %}
{%- set window = incremental_window(
    this,
    ref('stg_crm__activities'),
    'activity_id',
    'updated_at',
    var('incremental_lookback_days'),
) if compare_with_table else none %}
{%- set only_candidates = window is not none and window.is_small %}
{%- set look_for_missing = only_candidates and window.may_miss_rows %}

-- The import CTEs are read more than once in an incremental run: "not materialized" keeps
-- PostgreSQL from copying a million rows into each, so filters reach the tables' indexes.
with

activities as not materialized (

    select
        activity_id,
        activity_type,
        direction,
        activity_status,
        subject,
        occurred_at,
        occurred_date,
        lead_id,
        account_id,
        project_id,
        contact_id,
        updated_at
    from {{ ref('stg_crm__activities') }}

),

projects as not materialized (

    select
        project_id,
        account_id,
        updated_at
    from {{ ref('stg_crm__projects') }}

),

contacts as not materialized (

    select
        contact_id,
        account_id,
        updated_at
    from {{ ref('stg_crm__contacts') }}

),

leads as not materialized (

    select
        lead_id,
        converted_account_id,
        updated_at
    from {{ ref('stg_crm__leads') }}

),

{% if compare_with_table and (look_for_missing or not only_candidates) %}
existing as not materialized (

    select
        activity_id,
        account_id,
        updated_at
    from {{ this }}

),

{% endif %}
{% if only_candidates %}
candidate_activities as (

    -- New or changed since the window's start, or tied to a project, contact or lead that
    -- changed: one branch each, so each is an index lookup rather than a pass over every row.
    -- (The changed parents' keys are collected into an array first: PostgreSQL pushes such a
    -- condition down into the staging view and onto its index, which it does not do for a
    -- join with it.)
    select activities.*
    from activities
    where activities.updated_at >= cast('{{ window.cutoff }}' as timestamptz)

    {% for parents, key in [
        ('projects', 'project_id'), ('contacts', 'contact_id'), ('leads', 'lead_id')
    ] %}

        union

        select activities.*
        from activities
        where activities.{{ key }} = any(array(
            select {{ parents }}.{{ key }}
            from {{ parents }}
            where {{ parents }}.updated_at >= cast('{{ window.cutoff }}' as timestamptz)
        ))
    {% endfor %}
    {% if look_for_missing %}

    union

    -- Not in the table at all, whatever their timestamps say.
    select activities.*
    from activities
    left join existing
        on activities.activity_id = existing.activity_id
    where existing.activity_id is null
    {% endif %}

),

{% endif %}
attributed as (

    select
        activities.activity_id,
        activities.activity_type,
        activities.direction,
        activities.activity_status,
        case
            when activities.account_id is not null then 'account'
            when activities.project_id is not null then 'project'
            else 'lead'
        end as parent_type,
        -- The account an activity counts for: its own, its project's, its contact's, or the
        -- account its lead was converted into; else the unknown member.
        coalesce(
            activities.account_id,
            projects.account_id,
            contacts.account_id,
            leads.converted_account_id,
            {{ unknown_member_id() }}
        ) as account_id,
        activities.lead_id,
        activities.project_id,
        coalesce(activities.contact_id, {{ unknown_member_id() }}) as contact_id,
        activities.occurred_at,
        activities.occurred_date,
        activities.subject,
        activities.updated_at
    {% if only_candidates %}
        from candidate_activities as activities
    {% else %}
        from activities
    {% endif %}
    left join projects
        on activities.project_id = projects.project_id
    left join contacts
        on activities.contact_id = contacts.contact_id
    left join leads
        on activities.lead_id = leads.lead_id

),

final as (

    select attributed.*
    from attributed
    {% if compare_with_table and not only_candidates %}
        -- Every row was recomputed: rewrite only new rows and those whose row or attribution
        -- differs. (The few candidates are simply rewritten.)
        left join existing
            on attributed.activity_id = existing.activity_id
        where
            existing.activity_id is null
            or existing.updated_at <> attributed.updated_at
            or existing.account_id <> attributed.account_id
    {% endif %}

)

select * from final
