with

source as (

    select
        account_id,
        name,
        domain,
        website,
        industry,
        city,
        state,
        country,
        annual_revenue,
        employee_count,
        source,
        import_batch_id,
        created_at,
        updated_at
    from {{ source('crm', 'accounts') }}

),

renamed as (

    select
        account_id,
        btrim(name) as account_name,
        lower(domain) as domain,
        nullif(btrim(website), '') as website,
        nullif(btrim(industry), '') as industry,
        nullif(btrim(city), '') as city,
        nullif(btrim(state), '') as state,
        nullif(btrim(country), '') as country,
        annual_revenue,
        employee_count,
        source as source_system,
        import_batch_id,
        created_at,
        {{ local_date('created_at') }} as created_date,
        updated_at
    from source

)

select * from renamed
