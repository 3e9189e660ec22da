{# Reads the system of record directly, not staging: see sf_account. #}
with

projects as (

    select
        project_id,
        account_id,
        primary_contact_id,
        name,
        stage,
        amount,
        currency_code,
        probability,
        close_date,
        project_type,
        lead_source,
        next_step,
        description,
        created_at,
        updated_at
    from {{ source('crm', 'projects') }}

),

final as (

    select
        cast(project_id as text) as "Crm_Id__c",
        cast(account_id as text) as "Account.Crm_Id__c",
        cast(primary_contact_id as text) as "Contact.Crm_Id__c",
        btrim(name) as "Name",
        case cast(stage as text)
            when 'qualification' then 'Qualification'
            when 'proposal' then 'Proposal/Price Quote'
            when 'negotiation' then 'Negotiation/Review'
            when 'won' then 'Closed Won'
            when 'lost' then 'Closed Lost'
        end as "StageName",
        -- Salesforce's unit is percent; blank lets Salesforce take the stage's default.
        cast(probability * 100 as numeric(5, 2)) as "Probability",
        amount as "Amount",
        currency_code as "CurrencyIsoCode",
        -- Salesforce requires a close date; an open deal without one gets the day it was created.
        coalesce(close_date, {{ local_date('created_at') }}) as "CloseDate",
        nullif(btrim(project_type), '') as "Type",
        nullif(btrim(lead_source), '') as "LeadSource",
        nullif(btrim(next_step), '') as "NextStep",
        nullif(btrim(description), '') as "Description",
        created_at as "CreatedDate",
        updated_at as "LastModifiedDate"
    from projects

)

select * from final
