with

source as (

    select
        import_batch_id,
        file_name,
        file_sha256,
        file_size_bytes,
        profile,
        entity,
        status,
        is_dry_run,
        rows_read,
        rows_inserted,
        rows_updated,
        rows_unchanged,
        rows_rejected,
        started_at,
        finished_at
    from {{ source('ingest', 'import_batches') }}

),

renamed as (

    select
        import_batch_id,
        file_name,
        file_sha256,
        file_size_bytes,
        profile as import_profile,
        entity,
        cast(status as text) as batch_status,
        is_dry_run,
        rows_read,
        rows_inserted,
        rows_updated,
        rows_unchanged,
        rows_rejected,
        started_at,
        finished_at
    from source

)

select * from renamed
