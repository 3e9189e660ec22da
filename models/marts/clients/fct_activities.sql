{#
    Incremental: a night adds a few hundred activities to a million, so a build recomputes and
    writes only the candidates that can have changed since the previous build: activities whose
    updated_at (stamped by the database on every insert and change) is at most var
    incremental_lookback_days before the newest one already in the table, the margin covering
    imports whose transaction was still open during the previous build; activities of a
    project, contact or lead changed in that window (their account may have moved, e.g. a lead
    was converted); and, on the rare night the keys' count and checksum say some may be missing
    (or were deleted), activities not in the table at all. macros/incremental.sql
    (incremental_candidates) selects them, each kind through an index. Deleted activities are
    removed by the first post-hook. When the model's SQL, the staging SQL it reads or
    reporting_timezone changed since the table was built (a fingerprint kept as the table's
    comment), every row is recomputed and rewritten instead. When more than a tenth of the
    table changed within the window (a history imported this week), every row is recomputed
    but only those that differ are rewritten: one pass over everything is faster than a lookup
    per candidate then. `crm build --full-refresh` rebuilds it all.
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

{%- set candidates = incremental_candidates(
    'activities',
    ref('stg_crm__activities'),
    'activity_id',
    parents={'projects': 'project_id', 'contacts': 'contact_id', 'leads': 'lead_id'},
    lookback_days=var('incremental_lookback_days'),
) %}

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

candidate_activities as (

    {{ candidates.sql }}

),

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
    from candidate_activities as activities
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
    {% if candidates.write_only_changed %}
        -- Every row was recomputed: rewrite only new rows and those whose row or attribution
        -- differs. (The few candidates are simply rewritten.)
        left join {{ this }} as existing
            on attributed.activity_id = existing.activity_id
        where
            existing.activity_id is null
            or existing.updated_at <> attributed.updated_at
            or existing.account_id <> attributed.account_id
    {% endif %}

)

select * from final
