with

opportunities as (

    select
        stage,
        amount_base,
        opened_date,
        close_date
    from {{ ref('fct_opportunities') }}

),

calendar_months as (

    select distinct month_start_date
    from {{ ref('dim_date') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

created as (

    select
        -- Deals by the month they opened (their business start); deals whose start is unknown
        -- are left out and counted in deals_without_start_date.
        cast(date_trunc('month', opportunities.opened_date) as date) as month_start_date,
        count(*) as opportunities_created_count,
        sum(opportunities.amount_base) as opportunities_created_amount
    from opportunities
    cross join as_of
    where opportunities.opened_date <= as_of.as_of_date
    group by 1

),

closed as (

    select
        cast(date_trunc('month', opportunities.close_date) as date) as month_start_date,
        sum(case when opportunities.stage = 'won' then 1 else 0 end) as won_count,
        sum(case when opportunities.stage = 'won' then opportunities.amount_base end)
            as won_amount,
        sum(case when opportunities.stage = 'lost' then 1 else 0 end) as lost_count,
        sum(case when opportunities.stage = 'lost' then opportunities.amount_base end)
            as lost_amount
    from opportunities
    cross join as_of
    where
        opportunities.stage in ('won', 'lost')
        and opportunities.close_date <= as_of.as_of_date
    group by 1

),

undated as (

    select count(*) as deals_without_start_date
    from opportunities
    where opportunities.opened_date is null

),

month_range as (

    -- From the first month with a created or closed deal to the month of as_of_date.
    select
        least(
            (select min(created.month_start_date) from created),
            (select min(closed.month_start_date) from closed)
        ) as first_month,
        cast(date_trunc('month', as_of.as_of_date) as date) as last_month
    from as_of

),

months as (

    select calendar_months.month_start_date
    from calendar_months
    inner join month_range
        on
            calendar_months.month_start_date >= month_range.first_month
            and calendar_months.month_start_date <= month_range.last_month

),

final as (

    select
        months.month_start_date,
        cast(coalesce(created.opportunities_created_count, 0) as integer)
            as opportunities_created_count,
        cast(coalesce(created.opportunities_created_amount, 0) as numeric(14, 2))
            as opportunities_created_amount,
        cast(coalesce(closed.won_count, 0) as integer) as won_count,
        cast(coalesce(closed.won_amount, 0) as numeric(14, 2)) as won_amount,
        cast(coalesce(closed.lost_count, 0) as integer) as lost_count,
        cast(coalesce(closed.lost_amount, 0) as numeric(14, 2)) as lost_amount,
        cast(undated.deals_without_start_date as integer) as deals_without_start_date,
        {{ base_currency() }} as base_currency
    from months
    cross join undated
    left join created
        on months.month_start_date = created.month_start_date
    left join closed
        on months.month_start_date = closed.month_start_date

)

select * from final
