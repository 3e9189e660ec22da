{#
    Incremental: the rows are int_activity_people's (one per activity x person), copied for the
    activities that may have changed since the previous build: activities whose updated_at, or
    whose further relations' updated_at, is at most var incremental_lookback_days before the
    newest change the table holds, and activities whose contact or lead (own or further)
    changed in that window (the person's account may have moved). Rows are replaced by their
    key. What no timestamp shows (a relation or an activity deleted, an activity left without a
    person, a row written with the insert stamp off) is found by the first post-hook, which
    compares the keys' count and checksum with the view's and, only when they differ, deletes
    and copies the difference. When the model's SQL, the SQL it reads or reporting_timezone
    changed (the fingerprint kept as the table's comment), or more than a tenth of the table
    changed within the window, every row is recomputed and only the new and different ones are
    written. `crm build --full-refresh` rebuilds it all.
#}
{{
    config(
        materialized='incremental',
        unique_key='activity_relation_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['activity_relation_key'], 'unique': true},
            {'columns': ['activity_id']},
            {'columns': ['account_id']},
            {'columns': ['updated_at']},
        ],
        post_hook=[
            "{{ reconcile_rows(
                this,
                ref('int_activity_people'),
                'activity_relation_key',
                'uuid_hash_extended(activity_id, 0) # uuid_hash_extended(coalesce(lead_id, contact_id), 1)',
                ['activity_relation_key', 'activity_id', 'relation_type', 'contact_id',
                 'lead_id', 'account_id', 'is_primary', 'updated_at'],
            ) }}",
            "{{ record_incremental_fingerprint(this) }}",
        ],
    )
}}

{%- set compare_with_table = incremental_fingerprint_matches() %}
{%- set window = incremental_recent(
    this, 'updated_at', var('incremental_lookback_days')
) if compare_with_table else none %}
{%- set only_candidates = window is not none and window.is_small %}
{#- Referenced outside the branches that read them, so that dbt sees the dependencies. #}
{%- set activities_relation = ref('stg_crm__activities') %}
{%- set relations_relation = ref('stg_crm__activity_relations') %}
{%- set contacts_relation = ref('stg_crm__contacts') %}
{%- set leads_relation = ref('stg_crm__leads') %}

-- Read several times in an incremental run: "not materialized" lets filters reach the indexes.
with

people as not materialized (

    select
        activity_relation_key,
        activity_id,
        relation_type,
        contact_id,
        lead_id,
        account_id,
        is_primary,
        updated_at
    from {{ ref('int_activity_people') }}

),
{%- if only_candidates %}

activities as not materialized (

    select
        activity_id,
        contact_id,
        lead_id,
        updated_at
    from {{ activities_relation }}

),

relations as not materialized (

    select
        activity_id,
        contact_id,
        lead_id,
        updated_at
    from {{ relations_relation }}

),

changed_contacts as (

    select contact_id
    from {{ contacts_relation }}
    where updated_at >= cast('{{ window.cutoff }}' as timestamptz)

),

changed_leads as (

    select lead_id
    from {{ leads_relation }}
    where updated_at >= cast('{{ window.cutoff }}' as timestamptz)

),

candidate_activities as (

    -- Candidates only: one branch per way an activity's people can have changed, each an
    -- index lookup (changed people's keys are collected into an array first, which PostgreSQL
    -- pushes down onto the index).
    select activity_id
    from activities
    where updated_at >= cast('{{ window.cutoff }}' as timestamptz)

    union

    select activity_id
    from activities
    where contact_id = any(array(select contact_id from changed_contacts))

    union

    select activity_id
    from activities
    where lead_id = any(array(select lead_id from changed_leads))

    union

    select activity_id
    from relations
    where updated_at >= cast('{{ window.cutoff }}' as timestamptz)

    union

    select activity_id
    from relations
    where contact_id = any(array(select contact_id from changed_contacts))

    union

    select activity_id
    from relations
    where lead_id = any(array(select lead_id from changed_leads))

),
{%- endif %}

final as (

    select people.*
    from people
    {%- if only_candidates %}
        where people.activity_id = any(array(select activity_id from candidate_activities))
    {%- elif compare_with_table %}
        -- Every row was recomputed: write only the new ones and those that differ.
        left join {{ this }} as existing
            on people.activity_relation_key = existing.activity_relation_key
        where
            existing.activity_relation_key is null
            or existing.account_id <> people.account_id
            or existing.is_primary <> people.is_primary
            or existing.updated_at <> people.updated_at
    {%- endif %}

)

select * from final
