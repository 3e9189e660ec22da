with

source as (

    select
        activity_id,
        activity_type,
        direction,
        status,
        subject,
        occurred_at,
        ends_at,
        due_date,
        lead_id,
        account_id,
        project_id,
        contact_id,
        thread_key,
        source,
        import_batch_id,
        created_at,
        updated_at
    from {{ source('crm', 'activities') }}

),

renamed as (

    select
        activity_id,
        cast(activity_type as text) as activity_type,
        cast(direction as text) as direction,
        cast(status as text) as activity_status,
        nullif(btrim(subject), '') as subject,
        occurred_at,
        {{ local_date('occurred_at') }} as occurred_date,
        ends_at,
        due_date,
        lead_id,
        account_id,
        project_id,
        contact_id,
        thread_key,
        source as source_system,
        import_batch_id,
        created_at,
        updated_at
    from source

)

select * from renamed
