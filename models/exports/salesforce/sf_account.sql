{#
    Reads the system of record directly, not staging: staging cleans for analytics (lower-cased
    lead sources and emails, no phone, street, description or bodies), and a migration must carry
    every record as it is stored.
#}
with

accounts as (

    select
        account_id,
        name,
        domain,
        website,
        industry,
        phone,
        street,
        city,
        state,
        postal_code,
        country,
        annual_revenue,
        employee_count,
        description,
        created_at,
        updated_at
    from {{ source('crm', 'accounts') }}

),

final as (

    select
        cast(account_id as text) as "Crm_Id__c",
        btrim(name) as "Name",
        coalesce(nullif(btrim(website), ''), domain) as "Website",
        nullif(btrim(industry), '') as "Industry",
        nullif(btrim(phone), '') as "Phone",
        nullif(btrim(street), '') as "BillingStreet",
        nullif(btrim(city), '') as "BillingCity",
        nullif(btrim(state), '') as "BillingState",
        nullif(btrim(postal_code), '') as "BillingPostalCode",
        nullif(btrim(country), '') as "BillingCountry",
        annual_revenue as "AnnualRevenue",
        employee_count as "NumberOfEmployees",
        nullif(btrim(description), '') as "Description",
        created_at as "CreatedDate",
        updated_at as "LastModifiedDate"
    from accounts

)

select * from final
