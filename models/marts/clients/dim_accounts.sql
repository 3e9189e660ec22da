{{ config(indexes=[{'columns': ['account_id'], 'unique': true}]) }}

with

accounts as (

    select
        account_id,
        account_name,
        domain,
        industry,
        city,
        country,
        annual_revenue,
        employee_count,
        created_date
    from {{ ref('stg_crm__accounts') }}

),

projects as (

    select
        account_id,
        stage,
        close_date
    from {{ ref('stg_crm__projects') }}

),

won_by_account as (

    select
        account_id,
        count(*) as won_project_count,
        min(close_date) as first_won_date
    from projects
    where stage = 'won'
    group by account_id

),

known_accounts as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.domain,
        accounts.industry,
        accounts.city,
        accounts.country,
        accounts.annual_revenue,
        accounts.employee_count,
        accounts.created_date,
        coalesce(won_by_account.won_project_count, 0) > 0 as is_client,
        won_by_account.first_won_date,
        false as is_unknown_member
    from accounts
    left join won_by_account
        on accounts.account_id = won_by_account.account_id

),

unknown_member as (

    select
        {{ unknown_member_id() }} as account_id,
        'Unknown account' as account_name,
        cast(null as text) as domain,
        cast(null as text) as industry,
        cast(null as text) as city,
        cast(null as text) as country,
        cast(null as numeric(14, 2)) as annual_revenue,
        cast(null as integer) as employee_count,
        cast(null as date) as created_date,
        false as is_client,
        cast(null as date) as first_won_date,
        true as is_unknown_member

),

final as (

    select * from known_accounts
    union all
    select * from unknown_member

)

select * from final
