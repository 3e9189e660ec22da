{{ config(indexes=[{'columns': ['contact_id'], 'unique': true}, {'columns': ['account_id']}]) }}

with

contacts as (

    select
        contact_id,
        account_id,
        full_name,
        email,
        title,
        department,
        city,
        country,
        has_opted_out_of_email,
        created_date
    from {{ ref('stg_crm__contacts') }}

),

unknown_member as (

    select
        {{ unknown_member_id() }} as contact_id,
        {{ unknown_member_id() }} as account_id,
        'Unknown contact' as full_name,
        cast(null as text) as email,
        cast(null as text) as title,
        cast(null as text) as department,
        cast(null as text) as city,
        cast(null as text) as country,
        false as has_opted_out_of_email,
        cast(null as date) as created_date

),

final as (

    select
        contact_id,
        account_id,
        full_name,
        email,
        title,
        department,
        city,
        country,
        has_opted_out_of_email,
        created_date,
        false as is_unknown_member
    from contacts
    union all
    select
        contact_id,
        account_id,
        full_name,
        email,
        title,
        department,
        city,
        country,
        has_opted_out_of_email,
        created_date,
        true as is_unknown_member
    from unknown_member

)

select * from final
