{{
    config(
        indexes=[
            {'columns': ['account_id', 'revenue_month'], 'unique': true},
            {'columns': ['revenue_month']},
        ]
    )
}}

with

spread as (

    select
        project_id,
        account_id,
        revenue_month,
        recognised_revenue
    from {{ ref('int_projects_revenue_spread') }}

),

opportunities as (

    select
        project_id,
        exchange_rate
    from {{ ref('fct_opportunities') }}

),

converted as (

    -- The one definition of "revenue in a month": each won project's monthly share in the base
    -- currency at the rate of its close date; a project without a rate adds nothing and is
    -- counted in projects_without_rate.
    select
        spread.project_id,
        spread.account_id,
        spread.revenue_month,
        round(spread.recognised_revenue * opportunities.exchange_rate, 2) as recognised_revenue,
        opportunities.exchange_rate is null as is_missing_rate
    from spread
    left join opportunities
        on spread.project_id = opportunities.project_id

),

final as (

    select
        account_id,
        revenue_month,
        cast(coalesce(sum(recognised_revenue), 0) as numeric(14, 2)) as recognised_revenue,
        cast(count(distinct project_id) as integer) as won_project_count,
        cast(count(distinct case when is_missing_rate then project_id end) as integer)
            as projects_without_rate,
        {{ base_currency() }} as base_currency
    from converted
    group by account_id, revenue_month

)

select * from final
