{{
    config(
        indexes=[
            {'columns': ['lead_id'], 'unique': true},
            {'columns': ['created_date']},
        ]
    )
}}

with

leads as (

    select
        lead_id,
        lead_source,
        lead_status,
        estimated_amount,
        created_at,
        created_date,
        opened_date,
        converted_date,
        converted_account_id,
        converted_contact_id,
        converted_project_id
    from {{ ref('stg_crm__leads') }}

),

lead_source_groups as (

    select
        lead_source,
        lead_source_group
    from {{ ref('lead_source_groups') }}

),

final as (

    select
        leads.lead_id,
        coalesce(leads.lead_source, 'unknown') as lead_source,
        coalesce(lead_source_groups.lead_source_group, 'Other') as lead_source_group,
        leads.lead_status,
        -- Funnel steps from the current status: unqualified leads were contacted, then ruled out.
        leads.lead_status in ('contacted', 'qualified', 'unqualified', 'converted')
            as is_contacted_or_later,
        leads.lead_status in ('qualified', 'converted') as is_qualified_or_later,
        leads.lead_status = 'converted' as is_converted,
        leads.estimated_amount,
        leads.created_at,
        leads.created_date,
        leads.converted_date,
        -- From the business start, never from the import day: unknown when the start is.
        leads.converted_date - leads.opened_date as days_to_convert,
        leads.converted_account_id,
        leads.converted_contact_id,
        leads.converted_project_id,
        leads.opened_date
    from leads
    left join lead_source_groups
        on coalesce(leads.lead_source, 'unknown') = lead_source_groups.lead_source

)

select * from final
