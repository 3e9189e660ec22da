{# Reads the system of record directly, not staging: see sf_account. #}
with

contacts as (

    select
        contact_id,
        account_id,
        first_name,
        last_name,
        email,
        title,
        department,
        phone,
        mobile_phone,
        city,
        country,
        has_opted_out_of_email,
        description,
        created_at,
        updated_at
    from {{ source('crm', 'contacts') }}

),

final as (

    select
        cast(contact_id as text) as "Crm_Id__c",
        cast(account_id as text) as "Account.Crm_Id__c",
        nullif(btrim(first_name), '') as "FirstName",
        -- Salesforce requires a last name; "[not provided]" is its own placeholder for one.
        coalesce(nullif(btrim(last_name), ''), '[not provided]') as "LastName",
        email as "Email",
        nullif(btrim(title), '') as "Title",
        nullif(btrim(department), '') as "Department",
        nullif(btrim(phone), '') as "Phone",
        nullif(btrim(mobile_phone), '') as "MobilePhone",
        nullif(btrim(city), '') as "MailingCity",
        nullif(btrim(country), '') as "MailingCountry",
        has_opted_out_of_email as "HasOptedOutOfEmail",
        nullif(btrim(description), '') as "Description",
        created_at as "CreatedDate",
        updated_at as "LastModifiedDate"
    from contacts

)

select * from final
