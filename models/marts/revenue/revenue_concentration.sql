with

revenue as (

    select
        account_id,
        revenue_month,
        recognised_revenue
    from {{ ref('fct_revenue_monthly') }}

),

unconverted_projects as (

    -- Won projects left out of the revenue because no rate converts their currency.
    select
        spread.project_id,
        spread.revenue_month
    from {{ ref('int_projects_revenue_spread') }} as spread
    inner join {{ ref('fct_opportunities') }} as opportunities
        on spread.project_id = opportunities.project_id
    where opportunities.is_missing_rate

),

as_of as (

    select cast(date_trunc('month', {{ as_of_date() }}) as date) as as_of_month

),

recognised as (

    -- Revenue is recognised once its month has begun: months after as_of_date's are left out.
    select
        revenue.account_id,
        revenue.revenue_month,
        revenue.recognised_revenue
    from revenue
    cross join as_of
    where revenue.revenue_month <= as_of.as_of_month

),

periods as (

    select distinct
        cast(extract(year from revenue_month) as integer) as period_year,
        cast(cast(extract(year from revenue_month) as integer) as text) as period,
        'calendar_year' as period_type,
        cast(date_trunc('year', revenue_month) as date) as period_start_month,
        cast(date_trunc('year', revenue_month) + interval '11 months' as date) as period_end_month
    from recognised
    where recognised_revenue > 0
    union all
    -- The trailing twelve months: the 12 whole months ending with as_of_date's month.
    select
        null as period_year,
        'TTM' as period,
        'ttm' as period_type,
        cast(as_of_month - interval '11 months' as date) as period_start_month,
        as_of_month as period_end_month
    from as_of

),

client_revenue as (

    select
        periods.period,
        recognised.account_id,
        sum(recognised.recognised_revenue) as client_revenue
    from periods
    inner join recognised
        on
            periods.period_start_month <= recognised.revenue_month
            and periods.period_end_month >= recognised.revenue_month
    group by periods.period, recognised.account_id
    having sum(recognised.recognised_revenue) > 0

),

ranked as (

    select
        period,
        account_id,
        client_revenue,
        sum(client_revenue) over (partition by period) as total_revenue,
        row_number() over (
            partition by period order by client_revenue desc, account_id asc
        ) as client_rank,
        sum(client_revenue) over (
            partition by period
            order by client_revenue desc, account_id asc
            rows between unbounded preceding and current row
        ) as cumulative_revenue
    from client_revenue

),

concentration as (

    select
        period,
        max(total_revenue) as total_revenue,
        count(*) as client_count,
        sum(case when client_rank <= 1 then client_revenue else 0 end) as top1_revenue,
        sum(case when client_rank <= 3 then client_revenue else 0 end) as top3_revenue,
        sum(case when client_rank <= 5 then client_revenue else 0 end) as top5_revenue,
        -- Herfindahl-Hirschman index: the sum of squared percentage shares (0-10,000).
        sum(
            (100.0 * client_revenue / total_revenue) * (100.0 * client_revenue / total_revenue)
        ) as hhi,
        -- Fewest clients whose revenue reaches 80 %: the rank at which the running total,
        -- biggest client first, first reaches 80 % of the period's total.
        min(case when cumulative_revenue >= 0.8 * total_revenue then client_rank end)
            as clients_for_80pct
    from ranked
    group by period

),

unconverted as (

    select
        periods.period,
        count(distinct unconverted_projects.project_id) as deals_without_rate
    from periods
    cross join as_of
    inner join unconverted_projects
        on
            periods.period_start_month <= unconverted_projects.revenue_month
            and periods.period_end_month >= unconverted_projects.revenue_month
            and as_of.as_of_month >= unconverted_projects.revenue_month
    group by periods.period

),

final as (

    select
        periods.period,
        periods.period_type,
        periods.period_start_month,
        periods.period_end_month,
        cast(coalesce(concentration.total_revenue, 0) as numeric(14, 2)) as total_revenue,
        cast(coalesce(concentration.client_count, 0) as integer) as client_count,
        cast(
            round(concentration.top1_revenue / nullif(concentration.total_revenue, 0), 6)
            as numeric(9, 6)
        ) as top1_share,
        cast(
            round(concentration.top3_revenue / nullif(concentration.total_revenue, 0), 6)
            as numeric(9, 6)
        ) as top3_share,
        cast(
            round(concentration.top5_revenue / nullif(concentration.total_revenue, 0), 6)
            as numeric(9, 6)
        ) as top5_share,
        cast(round(concentration.hhi, 2) as numeric(8, 2)) as hhi,
        cast(concentration.clients_for_80pct as integer) as clients_for_80pct,
        cast(coalesce(unconverted.deals_without_rate, 0) as integer) as deals_without_rate,
        {{ base_currency() }} as base_currency
    from periods
    left join concentration
        on periods.period = concentration.period
    left join unconverted
        on periods.period = unconverted.period

)

select * from final
