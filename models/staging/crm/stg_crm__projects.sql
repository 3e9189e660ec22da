with

source as (

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
        start_date,
        end_date,
        delivery_status,
        lead_source,
        project_type,
        source,
        import_batch_id,
        opened_on,
        created_at,
        updated_at
    from {{ source('crm', 'projects') }}

),

renamed as (

    select
        project_id,
        account_id,
        primary_contact_id,
        btrim(name) as project_name,
        cast(stage as text) as stage,
        amount,
        currency_code,
        probability as recorded_probability,
        close_date,
        start_date,
        end_date,
        cast(delivery_status as text) as delivery_status,
        nullif(lower(regexp_replace(btrim(lead_source), '\s+', ' ', 'g')), '') as lead_source,
        nullif(btrim(project_type), '') as project_type,
        source as source_system,
        import_batch_id,
        created_at,
        {{ local_date('created_at') }} as created_date,
        opened_on as opened_date,
        updated_at
    from source

)

select * from renamed
