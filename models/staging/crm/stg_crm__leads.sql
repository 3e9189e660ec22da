with

source as (

    select
        lead_id,
        first_name,
        last_name,
        company,
        title,
        email,
        city,
        country,
        lead_source,
        status,
        estimated_amount,
        converted_account_id,
        converted_contact_id,
        converted_project_id,
        converted_date,
        source,
        import_batch_id,
        opened_on,
        created_at,
        updated_at
    from {{ source('crm', 'leads') }}

),

renamed as (

    select
        lead_id,
        nullif(btrim(first_name), '') as first_name,
        nullif(btrim(last_name), '') as last_name,
        nullif(btrim(company), '') as company,
        nullif(btrim(title), '') as title,
        lower(email) as email,
        nullif(btrim(city), '') as city,
        nullif(btrim(country), '') as country,
        nullif(lower(regexp_replace(btrim(lead_source), '\s+', ' ', 'g')), '') as lead_source,
        cast(status as text) as lead_status,
        estimated_amount,
        converted_account_id,
        converted_contact_id,
        converted_project_id,
        converted_date,
        source as source_system,
        import_batch_id,
        created_at,
        {{ local_date('created_at') }} as created_date,
        opened_on as opened_date,
        updated_at
    from source

)

select * from renamed
