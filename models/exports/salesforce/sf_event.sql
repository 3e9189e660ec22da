{#
    Reads the system of record directly, not staging: see sf_account. Meetings only; the other
    activities are Tasks. References work as in sf_task.
#}
with

activities as (

    select
        activity_id,
        subject,
        body,
        occurred_at,
        ends_at,
        lead_id,
        account_id,
        project_id,
        contact_id,
        created_at,
        updated_at
    from {{ source('crm', 'activities') }}
    where activity_type = 'meeting'

),

final as (

    select
        cast(activity_id as text) as "Crm_Id__c",
        cast(lead_id as text) as "Lead:Who.Crm_Id__c",
        case when lead_id is null then cast(contact_id as text) end as "Contact:Who.Crm_Id__c",
        cast(account_id as text) as "Account:What.Crm_Id__c",
        cast(project_id as text) as "Opportunity:What.Crm_Id__c",
        nullif(btrim(subject), '') as "Subject",
        nullif(btrim(body), '') as "Description",
        occurred_at as "ActivityDateTime",
        occurred_at as "StartDateTime",
        -- Salesforce requires an end; a meeting without one ends when it starts.
        coalesce(ends_at, occurred_at) as "EndDateTime",
        created_at as "CreatedDate",
        updated_at as "LastModifiedDate"
    from activities

)

select * from final
