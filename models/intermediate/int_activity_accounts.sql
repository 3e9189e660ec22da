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

primary_accounts as (

    -- The account the activity counts for (fct_activities: its own, its project's, its
    -- contact's, its converted lead's).
    select
        activity_id,
        account_id,
        true as is_primary_account,
        occurred_at,
        occurred_date
    from activities
    where account_id <> {{ unknown_member_id() }}

),

further_accounts as (

    -- The accounts of the people related to it, other than that one: once per account however
    -- many of its people the activity concerns.
    select
        relations.activity_id,
        relations.account_id,
        false as is_primary_account,
        activities.occurred_at,
        activities.occurred_date
    from relations
    inner join activities
        on relations.activity_id = activities.activity_id
    where
        relations.account_id <> {{ unknown_member_id() }}
        and relations.account_id <> activities.account_id
    group by
        relations.activity_id,
        relations.account_id,
        activities.occurred_at,
        activities.occurred_date

),

final as (

    select * from primary_accounts
    union all
    select * from further_accounts

)

select * from final
