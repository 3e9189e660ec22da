{{ config(indexes=[{'columns': ['account_id'], 'unique': true}, {'columns': ['health_band']}]) }}

with

accounts as (

    select
        account_id,
        account_name
    from {{ ref('stg_crm__accounts') }}

),

activities as (

    -- One row per activity x account it touches: a message to two clients counts for both.
    select
        account_id,
        occurred_at,
        occurred_date
    from {{ ref('int_activity_accounts') }}

),

opportunities as (

    select
        account_id,
        stage,
        is_open_as_of,
        amount_base,
        start_date,
        end_date,
        delivery_status
    from {{ ref('fct_opportunities') }}

),

revenue as (

    select
        account_id,
        revenue_month,
        recognised_revenue
    from {{ ref('fct_revenue_monthly') }}

),

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(date_trunc('month', {{ as_of_date() }}) as date) as as_of_month

),

activity_by_account as (

    -- Activities up to as_of_date; "in the last 90 days" includes as_of_date itself.
    select
        activities.account_id,
        max(activities.occurred_at) as last_activity_at,
        max(activities.occurred_date) as last_activity_date,
        sum(
            case
                when
                    activities.occurred_date
                    > as_of.as_of_date - 90
                    then 1
                else 0
            end
        ) as activities_recent
    from activities
    cross join as_of
    where activities.occurred_date <= as_of.as_of_date
    group by activities.account_id

),

pipeline_by_account as (

    select
        opportunities.account_id,
        -- Open as fct_opportunities defines it, amounts in the base currency.
        sum(case when opportunities.is_open_as_of then 1 else 0 end) as open_opportunity_count,
        sum(
            case when opportunities.is_open_as_of then opportunities.amount_base end
        ) as open_pipeline_amount,
        -- Won, in active delivery, and the delivery window (open-ended where a date is
        -- missing) covers as_of_date.
        sum(
            case
                when
                    opportunities.stage = 'won'
                    and opportunities.delivery_status = 'active'
                    and coalesce(opportunities.start_date, as_of.as_of_date) <= as_of.as_of_date
                    and coalesce(opportunities.end_date, as_of.as_of_date) >= as_of.as_of_date
                    then 1
                else 0
            end
        ) as active_project_count
    from opportunities
    cross join as_of
    group by opportunities.account_id

),

revenue_by_account as (

    select
        revenue.account_id,
        sum(
            case
                when
                    revenue.revenue_month > cast(as_of.as_of_month - interval '12 months' as date)
                    and revenue.revenue_month <= as_of.as_of_month
                    then revenue.recognised_revenue
            end
        ) as revenue_ttm,
        sum(
            case
                when
                    revenue.revenue_month > cast(as_of.as_of_month - interval '24 months' as date)
                    and revenue.revenue_month
                    <= cast(as_of.as_of_month - interval '12 months' as date)
                    then revenue.recognised_revenue
            end
        ) as revenue_prior_ttm
    from revenue
    cross join as_of
    group by revenue.account_id

),

joined as (

    select
        accounts.account_id,
        accounts.account_name,
        as_of.as_of_date,
        activity_by_account.last_activity_at,
        as_of.as_of_date - activity_by_account.last_activity_date as days_since_last_activity,
        coalesce(activity_by_account.activities_recent, 0) as activities_90d,
        coalesce(pipeline_by_account.open_opportunity_count, 0) as open_opportunity_count,
        coalesce(pipeline_by_account.open_pipeline_amount, 0) as open_pipeline_amount,
        coalesce(pipeline_by_account.active_project_count, 0) as active_project_count,
        coalesce(revenue_by_account.revenue_ttm, 0) as revenue_ttm,
        coalesce(revenue_by_account.revenue_prior_ttm, 0) as revenue_prior_ttm
    from accounts
    cross join as_of
    left join activity_by_account
        on accounts.account_id = activity_by_account.account_id
    left join pipeline_by_account
        on accounts.account_id = pipeline_by_account.account_id
    left join revenue_by_account
        on accounts.account_id = revenue_by_account.account_id

),

banded as (

    select
        account_id,
        account_name,
        as_of_date,
        last_activity_at,
        days_since_last_activity,
        activities_90d,
        open_opportunity_count,
        open_pipeline_amount,
        active_project_count,
        revenue_ttm,
        revenue_prior_ttm,
        case
            when
                coalesce(days_since_last_activity >= {{ var('health_dormant_days') }}, true)
                and active_project_count = 0
                and open_opportunity_count = 0
                then 'dormant'
            when
                coalesce(days_since_last_activity >= {{ var('health_at_risk_days') }}, true)
                or (
                    revenue_prior_ttm > 0
                    and revenue_ttm < {{ var('health_revenue_drop_ratio') }} * revenue_prior_ttm
                )
                then 'at_risk'
            else 'healthy'
        end as health_band
    from joined

),

reasoned as (

    -- The reasons for the band, in the order the band rules test them, then what else is worth
    -- knowing; joined with "; ". concat_ws skips the nulls of the signals that do not apply.
    select
        *,
        concat_ws(
            '; ',
            case
                when health_band = 'healthy'
                    then 'last contact ' || days_since_last_activity || ' days ago'
            end,
            case
                when days_since_last_activity is null then 'never contacted'
                when days_since_last_activity >= {{ var('health_at_risk_days') }}
                    then 'no contact for ' || days_since_last_activity || ' days'
            end,
            case
                when
                    revenue_ttm > 0
                    and revenue_prior_ttm > 0
                    and revenue_ttm < {{ var('health_revenue_drop_ratio') }} * revenue_prior_ttm
                    then concat(
                            'revenue down ',
                            round(100 * (1 - revenue_ttm / revenue_prior_ttm)),
                            ' % on last year'
                        )
            end,
            case
                when revenue_ttm = 0 and revenue_prior_ttm > 0
                    then 'no revenue in the last 12 months, after some the year before'
                when revenue_ttm = 0 then 'no revenue in the last 12 months'
            end,
            case when open_opportunity_count = 0 then 'no open pipeline' end,
            case
                when active_project_count = 1 then '1 project in delivery'
                when active_project_count > 1
                    then active_project_count || ' projects in delivery'
            end
        ) as health_reasons
    from banded

),

final as (

    select
        account_id,
        account_name,
        as_of_date,
        last_activity_at,
        cast(days_since_last_activity as integer) as days_since_last_activity,
        cast(activities_90d as integer) as activities_90d,
        cast(open_opportunity_count as integer) as open_opportunity_count,
        cast(open_pipeline_amount as numeric(14, 2)) as open_pipeline_amount,
        cast(active_project_count as integer) as active_project_count,
        cast(revenue_ttm as numeric(14, 2)) as revenue_ttm,
        cast(revenue_prior_ttm as numeric(14, 2)) as revenue_prior_ttm,
        health_band,
        health_reasons
    from reasoned

)

select * from final
