with

activities as (

    select
        activity_id,
        account_id,
        occurred_at,
        occurred_date
    from {{ ref('fct_activities') }}

),

relations as (

    select
        activity_id,
        account_id
    from {{ ref('fct_activity_relations') }}

),

touched as (

    -- The account the activity counts for (fct_activities: its own, its project's, its
    -- contact's, its converted lead's), and the account of every person related to it.
    select
        activity_id,
        account_id,
        true as is_primary_account
    from activities

    union all

    select
        activity_id,
        account_id,
        false as is_primary_account
    from relations

),

per_account as (

    select
        activity_id,
        account_id,
        bool_or(is_primary_account) as is_primary_account
    from touched
    where account_id <> {{ unknown_member_id() }}
    group by activity_id, account_id

),

final as (

    select
        per_account.activity_id,
        per_account.account_id,
        per_account.is_primary_account,
        activities.occurred_at,
        activities.occurred_date
    from per_account
    inner join activities
        on per_account.activity_id = activities.activity_id

)

select * from final
