with

opportunities as (

    select
        stage,
        is_open,
        amount,
        probability,
        created_date,
        close_date
    from {{ ref('fct_opportunities') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

open_pipeline as (

    -- Deals open now that already existed on as_of_date.
    select
        count(*) as open_opportunity_count,
        coalesce(sum(opportunities.amount), 0) as open_pipeline_amount,
        coalesce(sum(opportunities.amount * opportunities.probability), 0)
            as weighted_pipeline_amount
    from opportunities
    cross join as_of
    where
        opportunities.is_open
        and opportunities.created_date <= as_of.as_of_date

),

closed_ttm as (

    -- Deals won or lost with a close date in the 365 days ending on as_of_date.
    select
        sum(case when opportunities.stage = 'won' then 1 else 0 end) as won_count_ttm,
        sum(case when opportunities.stage = 'lost' then 1 else 0 end) as lost_count_ttm,
        sum(case when opportunities.stage = 'won' then opportunities.amount end)
            as won_amount_ttm,
        sum(case when opportunities.stage = 'lost' then opportunities.amount end)
            as lost_amount_ttm,
        avg(
            case
                when opportunities.stage = 'won'
                    then opportunities.close_date - opportunities.created_date
            end
        ) as avg_sales_cycle_days_ttm
    from opportunities
    cross join as_of
    where
        opportunities.stage in ('won', 'lost')
        and opportunities.close_date > as_of.as_of_date - 365
        and opportunities.close_date <= as_of.as_of_date

),

totals as (

    select
        as_of.as_of_date,
        open_pipeline.open_opportunity_count,
        open_pipeline.open_pipeline_amount,
        open_pipeline.weighted_pipeline_amount,
        coalesce(closed_ttm.won_count_ttm, 0) as won_count_ttm,
        coalesce(closed_ttm.lost_count_ttm, 0) as lost_count_ttm,
        coalesce(closed_ttm.won_amount_ttm, 0) as won_amount_ttm,
        coalesce(closed_ttm.lost_amount_ttm, 0) as lost_amount_ttm,
        closed_ttm.avg_sales_cycle_days_ttm
    from as_of
    cross join open_pipeline
    cross join closed_ttm

),

ratios as (

    -- Every ratio is null, not an error, when its denominator is zero.
    select
        as_of_date,
        open_opportunity_count,
        open_pipeline_amount,
        weighted_pipeline_amount,
        won_count_ttm,
        lost_count_ttm,
        won_amount_ttm,
        lost_amount_ttm,
        1.0 * won_count_ttm / nullif(won_count_ttm + lost_count_ttm, 0) as win_rate_count_ttm,
        won_amount_ttm / nullif(won_amount_ttm + lost_amount_ttm, 0) as win_rate_amount_ttm,
        won_amount_ttm / nullif(won_count_ttm, 0) as avg_won_deal_amount_ttm,
        avg_sales_cycle_days_ttm
    from totals

),

final as (

    select
        as_of_date,
        cast(open_opportunity_count as integer) as open_opportunity_count,
        cast(open_pipeline_amount as numeric(14, 2)) as open_pipeline_amount,
        cast(round(weighted_pipeline_amount, 2) as numeric(14, 2)) as weighted_pipeline_amount,
        cast(won_count_ttm as integer) as won_count_ttm,
        cast(lost_count_ttm as integer) as lost_count_ttm,
        cast(won_amount_ttm as numeric(14, 2)) as won_amount_ttm,
        cast(lost_amount_ttm as numeric(14, 2)) as lost_amount_ttm,
        cast(round(win_rate_count_ttm, 6) as numeric(9, 6)) as win_rate_count_ttm,
        cast(round(win_rate_amount_ttm, 6) as numeric(9, 6)) as win_rate_amount_ttm,
        cast(round(avg_won_deal_amount_ttm, 2) as numeric(14, 2)) as avg_won_deal_amount_ttm,
        cast(round(avg_sales_cycle_days_ttm, 2) as numeric(10, 2)) as avg_sales_cycle_days_ttm,
        cast(
            round(
                open_opportunity_count * avg_won_deal_amount_ttm * win_rate_count_ttm
                / nullif(avg_sales_cycle_days_ttm, 0),
                2
            ) as numeric(14, 2)
        ) as pipeline_velocity_per_day
    from ratios

)

select * from final
