{# Reads the system of record directly, not staging: see sf_account. #}
with

leads as (

    select
        lead_id,
        first_name,
        last_name,
        company,
        title,
        email,
        phone,
        website,
        city,
        country,
        lead_source,
        status,
        estimated_amount,
        description,
        converted_account_id,
        converted_contact_id,
        converted_project_id,
        converted_date,
        created_at,
        updated_at
    from {{ source('crm', 'leads') }}

),

final as (

    select
        cast(lead_id as text) as "Crm_Id__c",
        nullif(btrim(first_name), '') as "FirstName",
        -- Salesforce requires both; "[not provided]" is its own placeholder for a missing one.
        coalesce(nullif(btrim(last_name), ''), '[not provided]') as "LastName",
        coalesce(nullif(btrim(company), ''), '[not provided]') as "Company",
        nullif(btrim(title), '') as "Title",
        email as "Email",
        nullif(btrim(phone), '') as "Phone",
        nullif(btrim(website), '') as "Website",
        nullif(btrim(city), '') as "City",
        nullif(btrim(country), '') as "Country",
        nullif(btrim(lead_source), '') as "LeadSource",
        case cast(status as text)
            when 'new' then 'Open - Not Contacted'
            when 'contacted' then 'Working - Contacted'
            when 'qualified' then 'Qualified'
            when 'unqualified' then 'Unqualified'
            when 'converted' then 'Closed - Converted'
        end as "Status",
        estimated_amount as "Estimated_Amount__c",
        nullif(btrim(description), '') as "Description",
        coalesce(cast(status as text) = 'converted', false) as "IsConverted",
        converted_date as "ConvertedDate",
        cast(converted_account_id as text) as "ConvertedAccount.Crm_Id__c",
        cast(converted_contact_id as text) as "ConvertedContact.Crm_Id__c",
        cast(converted_project_id as text) as "ConvertedOpportunity.Crm_Id__c",
        created_at as "CreatedDate",
        updated_at as "LastModifiedDate"
    from leads

)

select * from final
