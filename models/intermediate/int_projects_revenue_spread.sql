-- A table, not a view: fct_revenue_monthly and this model's tests would otherwise each
-- recompute the spread.
{{ config(materialized='table') }}

with

won_projects as (

    select
        project_id,
        account_id,
        amount,
        close_date,
        start_date,
        end_date
    from {{ ref('stg_crm__projects') }}
    where
        stage = 'won'
        and amount is not null

),

windows as (

    -- Spread over the delivery window when both dates are known, else book it all in the
    -- month of the close date.
    select
        project_id,
        account_id,
        amount,
        case
            when start_date is not null and end_date is not null
                then cast(date_trunc('month', start_date) as date)
            else cast(date_trunc('month', close_date) as date)
        end as first_month,
        case
            when start_date is not null and end_date is not null
                then cast(date_trunc('month', end_date) as date)
            else cast(date_trunc('month', close_date) as date)
        end as last_month
    from won_projects

),

counted as (

    select
        project_id,
        account_id,
        amount,
        first_month,
        last_month,
        cast(
            (extract(year from last_month) - extract(year from first_month)) * 12
            + extract(month from last_month) - extract(month from first_month) + 1
            as integer
        ) as month_count
    from windows

),

spread as (

    select
        counted.project_id,
        counted.account_id,
        counted.amount,
        counted.month_count,
        cast(month_series.month_start as date) as revenue_month,
        cast(month_series.month_number as integer) as month_number
    from counted
    cross join lateral generate_series(
        counted.first_month, counted.last_month, interval '1 month'
    ) with ordinality as month_series (month_start, month_number)

),

final as (

    -- Each month gets the amount divided evenly, rounded to cents; the last month takes the
    -- rounding remainder so the months add up to the deal amount exactly.
    select
        project_id,
        account_id,
        revenue_month,
        month_number,
        month_count,
        cast(
            case
                when month_number < month_count then round(amount / month_count, 2)
                else amount - round(amount / month_count, 2) * (month_count - 1)
            end
            as numeric(14, 2)
        ) as recognised_revenue
    from spread

)

select * from final
