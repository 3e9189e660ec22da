with

source as (

    select
        contact_id,
        account_id,
        first_name,
        last_name,
        email,
        title,
        department,
        city,
        country,
        has_opted_out_of_email,
        source,
        import_batch_id,
        created_at,
        updated_at
    from {{ source('crm', 'contacts') }}

),

renamed as (

    select
        contact_id,
        account_id,
        nullif(btrim(first_name), '') as first_name,
        nullif(btrim(last_name), '') as last_name,
        coalesce(
            nullif(concat_ws(' ', nullif(btrim(first_name), ''), nullif(btrim(last_name), '')), ''),
            lower(email)
        ) as full_name,
        lower(email) as email,
        nullif(btrim(title), '') as title,
        nullif(btrim(department), '') as department,
        nullif(btrim(city), '') as city,
        nullif(btrim(country), '') as country,
        has_opted_out_of_email,
        source as source_system,
        import_batch_id,
        created_at,
        {{ local_date('created_at') }} as created_date,
        updated_at
    from source

)

select * from renamed
