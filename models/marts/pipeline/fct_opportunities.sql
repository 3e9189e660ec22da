{{
    config(
        indexes=[
            {'columns': ['project_id'], 'unique': true},
            {'columns': ['account_id']},
            {'columns': ['close_date']},
        ]
    )
}}

with

projects as (

    select
        project_id,
        account_id,
        primary_contact_id,
        project_name,
        stage,
        amount,
        currency_code,
        recorded_probability,
        created_date,
        close_date,
        start_date,
        end_date,
        delivery_status,
        lead_source,
        project_type
    from {{ ref('stg_crm__projects') }}

),

stage_probabilities as (

    select
        stage,
        probability,
        is_open,
        stage_order
    from {{ ref('stage_probabilities') }}

),

final as (

    select
        projects.project_id,
        projects.account_id,
        coalesce(projects.primary_contact_id, {{ unknown_member_id() }}) as primary_contact_id,
        projects.project_name,
        projects.stage,
        stage_probabilities.stage_order,
        stage_probabilities.is_open,
        not stage_probabilities.is_open as is_closed,
        projects.stage = 'won' as is_won,
        projects.amount,
        projects.currency_code,
        stage_probabilities.probability,
        cast(round(projects.amount * stage_probabilities.probability, 2) as numeric(14, 2))
            as weighted_amount,
        projects.recorded_probability,
        projects.created_date,
        projects.close_date,
        case
            when not stage_probabilities.is_open
                then projects.close_date - projects.created_date
        end as days_to_close,
        projects.start_date,
        projects.end_date,
        projects.delivery_status,
        coalesce(projects.lead_source, 'unknown') as lead_source,
        projects.project_type
    -- A left join: a stage missing from the seed shows up as a failing not_null test on
    -- probability instead of silently dropping deals.
    from projects
    left join stage_probabilities
        on projects.stage = stage_probabilities.stage

)

select * from final
