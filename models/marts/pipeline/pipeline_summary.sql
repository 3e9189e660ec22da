with

opportunities as (

    select
        is_open_as_of,
        is_won_ttm,
        is_lost_ttm,
        is_missing_rate,
        amount_base,
        weighted_amount_base,
        days_to_close
    from {{ ref('fct_opportunities') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

open_pipeline as (

    -- The open deals as fct_opportunities defines them (is_open_as_of); amounts in the base
    -- currency, deals without a rate left out of the amounts and counted.
    select
        count(*) as open_opportunity_count,
        coalesce(sum(amount_base), 0) as open_pipeline_amount,
        coalesce(sum(weighted_amount_base), 0) as weighted_pipeline_amount,
        count(case when is_missing_rate then 1 end) as open_without_rate
    from opportunities
    where is_open_as_of

),

closed_ttm as (

    -- Deals won or lost in the window (is_won_ttm, is_lost_ttm). The sales cycle averages the
    -- won deals whose start is known; the others are counted in deals_without_start_date.
    select
        count(case when is_won_ttm then 1 end) as won_count_ttm,
        count(case when is_lost_ttm then 1 end) as lost_count_ttm,
        sum(case when is_won_ttm then amount_base end) as won_amount_ttm,
        sum(case when is_lost_ttm then amount_base end) as lost_amount_ttm,
        count(case when is_won_ttm and amount_base is not null then 1 end)
            as won_count_with_amount_ttm,
        avg(case when is_won_ttm then days_to_close end) as avg_sales_cycle_days_ttm,
        count(case when is_won_ttm and days_to_close is null then 1 end)
            as deals_without_start_date,
        count(case when is_missing_rate then 1 end) as closed_without_rate
    from opportunities
    where is_won_ttm or is_lost_ttm

),

totals as (

    select
        as_of.as_of_date,
        open_pipeline.open_opportunity_count,
        open_pipeline.open_pipeline_amount,
        open_pipeline.weighted_pipeline_amount,
        closed_ttm.won_count_ttm,
        closed_ttm.lost_count_ttm,
        coalesce(closed_ttm.won_amount_ttm, 0) as won_amount_ttm,
        coalesce(closed_ttm.lost_amount_ttm, 0) as lost_amount_ttm,
        closed_ttm.won_count_with_amount_ttm,
        closed_ttm.avg_sales_cycle_days_ttm,
        closed_ttm.deals_without_start_date,
        open_pipeline.open_without_rate + closed_ttm.closed_without_rate as deals_without_rate
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
        won_amount_ttm / nullif(won_count_with_amount_ttm, 0) as avg_won_deal_amount_ttm,
        avg_sales_cycle_days_ttm,
        deals_without_start_date,
        deals_without_rate
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
        ) as pipeline_velocity_per_day,
        cast(deals_without_start_date as integer) as deals_without_start_date,
        cast(deals_without_rate as integer) as deals_without_rate,
        {{ base_currency() }} as base_currency
    from ratios

)

select * from final
