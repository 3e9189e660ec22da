{#
    Incremental: a night adds a few hundred activities to a million, so a build writes only the
    activities that are new or differ from the table - changed in the CRM (updated_at moved) or
    counted for another account (e.g. their lead was converted). Finding them costs one join of
    the source against the table; rewriting a million rows and their indexes is what is saved.
    No timestamp watermark is involved, so imports committing during a build cannot be missed.
    Deleted activities are removed by the post-hook. `crm build --full-refresh` rebuilds it all.
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
        ],
        post_hook=[
            "{{ delete_missing_rows(this, ref('stg_crm__activities'), 'activity_id') }}",
        ],
    )
}}

with

activities as (

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

projects as (

    select
        project_id,
        account_id,
        updated_at
    from {{ ref('stg_crm__projects') }}

),

contacts as (

    select
        contact_id,
        account_id,
        updated_at
    from {{ ref('stg_crm__contacts') }}

),

leads as (

    select
        lead_id,
        converted_account_id,
        updated_at
    from {{ ref('stg_crm__leads') }}

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
    from activities
    left join projects
        on activities.project_id = projects.project_id
    left join contacts
        on activities.contact_id = contacts.contact_id
    left join leads
        on activities.lead_id = leads.lead_id

),

{% if is_incremental() %}
existing as (

    select
        activity_id,
        account_id,
        updated_at
    from {{ this }}

),

{% endif %}
final as (

    select attributed.*
    from attributed
    {% if is_incremental() %}
        -- Only new activities, and those whose row or attribution differs from the table's.
        left join existing
            on attributed.activity_id = existing.activity_id
        where
            existing.activity_id is null
            or existing.updated_at <> attributed.updated_at
            or existing.account_id <> attributed.account_id
    {% endif %}

)

select * from final
