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
        opened_date,
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

exchange_rates as (

    select
        currency_code,
        valid_from,
        valid_to,
        rate
    from {{ ref('stg_crm__exchange_rates') }}
    where base_currency = {{ base_currency() }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

dated as (

    -- The day whose rate converts the amount: the close date of a closed deal, as_of_date for
    -- an open one (its pipeline is valued today).
    select
        projects.*,
        as_of.as_of_date,
        case
            when stage_probabilities.is_open then as_of.as_of_date
            else coalesce(projects.close_date, as_of.as_of_date)
        end as rate_date
    from projects
    cross join as_of
    left join stage_probabilities
        on projects.stage = stage_probabilities.stage

),

converted as (

    -- One rate per deal: the pair's rate in force on rate_date. A deal in the base currency
    -- needs none; a deal whose currency has no rate that day gets none and is left out of every
    -- base-currency figure (is_missing_rate).
    select
        dated.project_id,
        case
            when dated.currency_code = {{ base_currency() }} then 1
            else exchange_rates.rate
        end as exchange_rate
    from dated
    left join exchange_rates
        on
            dated.currency_code = exchange_rates.currency_code
            and dated.rate_date >= exchange_rates.valid_from
            and (exchange_rates.valid_to is null or dated.rate_date <= exchange_rates.valid_to)

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
        -- Days from the business start (opened_date) to the close: unknown when the start is;
        -- created_date is when the record reached the CRM and measures no sales cycle.
        case
            when not stage_probabilities.is_open
                then projects.close_date - projects.opened_date
        end as days_to_close,
        projects.start_date,
        projects.end_date,
        projects.delivery_status,
        coalesce(projects.lead_source, 'unknown') as lead_source,
        projects.project_type,
        projects.opened_date,
        projects.opened_date is not null as has_start_date,
        -- The one definition of "open" every headline figure and chart uses: open in the data
        -- and not opened after as_of_date (a deal whose start is unknown counts: it is open).
        coalesce(
            stage_probabilities.is_open
            and (projects.opened_date is null or projects.opened_date <= as_of.as_of_date),
            false
        ) as is_open_as_of,
        -- Won or lost "in the window": closed in the 365 days ending on as_of_date.
        coalesce(
            projects.stage = 'won'
            and projects.close_date > as_of.as_of_date - 365
            and projects.close_date <= as_of.as_of_date,
            false
        ) as is_won_ttm,
        coalesce(
            projects.stage = 'lost'
            and projects.close_date > as_of.as_of_date - 365
            and projects.close_date <= as_of.as_of_date,
            false
        ) as is_lost_ttm,
        {{ base_currency() }} as base_currency,
        cast(converted.exchange_rate as numeric(18, 8)) as exchange_rate,
        projects.amount is not null and converted.exchange_rate is null as is_missing_rate,
        cast(round(projects.amount * converted.exchange_rate, 2) as numeric(14, 2))
            as amount_base,
        cast(
            round(projects.amount * converted.exchange_rate * stage_probabilities.probability, 2)
            as numeric(14, 2)
        ) as weighted_amount_base
    -- A left join: a stage missing from the seed shows up as a failing not_null test on
    -- probability instead of silently dropping deals.
    from projects
    cross join as_of
    left join stage_probabilities
        on projects.stage = stage_probabilities.stage
    left join converted
        on projects.project_id = converted.project_id

)

select * from final
