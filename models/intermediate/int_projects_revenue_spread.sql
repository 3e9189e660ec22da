{#
    Stored, not a view: fct_revenue_monthly and this model's tests would otherwise each recompute
    the spread. Incremental: a won project's months depend on that project's row alone, so a
    build recomputes only the won projects whose updated_at differs from the one their rows
    carry (new, changed, or won since), replacing all their months; a post-hook removes the
    months of projects that are no longer won with an amount (lost after all, amount cleared,
    deleted). Comparing every project's updated_at with the table's is exact whatever the
    timestamps (no window) and costs one pass over the projects. When this SQL, the staging SQL
    or reporting_timezone changed (the fingerprint in the table's comment), every project is
    recomputed.
#}
{{
    config(
        materialized='incremental',
        unique_key='project_id',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['project_id']}],
        post_hook=[
            "{{ delete_rows_of_projects_not_won(this, ref('stg_crm__projects')) }}",
            "{{ record_incremental_fingerprint(this) }}",
        ],
    )
}}

{%- set compare_with_table = incremental_fingerprint_matches() %}

with

won_projects as (

    select
        projects.project_id,
        projects.account_id,
        projects.amount,
        projects.close_date,
        projects.start_date,
        projects.end_date,
        projects.updated_at as project_updated_at
    from {{ ref('stg_crm__projects') }} as projects
    where
        projects.stage = 'won'
        and projects.amount is not null
    {% if compare_with_table %}
        and not exists (
            select
            from {{ this }} as built
            where
                built.project_id = projects.project_id
                and built.project_updated_at = projects.updated_at
        )
    {% endif %}

),

windows as (

    -- Spread over the delivery window when both dates are known, else book it all in the
    -- month of the close date.
    select
        project_id,
        account_id,
        amount,
        project_updated_at,
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
        project_updated_at,
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
        counted.project_updated_at,
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
        ) as recognised_revenue,
        project_updated_at
    from spread

)

select * from final
