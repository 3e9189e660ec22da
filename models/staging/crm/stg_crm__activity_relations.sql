with

source as (

    select
        activity_relation_id,
        activity_id,
        contact_id,
        lead_id,
        source,
        import_batch_id,
        created_at,
        updated_at
    from {{ source('crm', 'activity_relations') }}

),

renamed as (

    select
        activity_relation_id,
        activity_id,
        contact_id,
        lead_id,
        source as source_system,
        import_batch_id,
        created_at,
        updated_at
    from source

)

select * from renamed
