with

opportunities as (

    select
        stage,
        is_open_as_of,
        is_missing_rate,
        amount_base,
        weighted_amount_base
    from {{ ref('fct_opportunities') }}

),

stage_probabilities as (

    select
        stage,
        stage_order
    from {{ ref('stage_probabilities') }}
    where is_open

),

by_stage as (

    -- The open deals as fct_opportunities defines them, the same rows pipeline_summary adds up.
    select
        stage,
        count(*) as open_opportunity_count,
        sum(amount_base) as open_pipeline_amount,
        sum(weighted_amount_base) as weighted_pipeline_amount,
        count(case when is_missing_rate then 1 end) as deals_without_rate
    from opportunities
    where is_open_as_of
    group by stage

),

final as (

    select
        stage_probabilities.stage,
        cast(stage_probabilities.stage_order as integer) as stage_order,
        cast(coalesce(by_stage.open_opportunity_count, 0) as integer) as open_opportunity_count,
        cast(coalesce(by_stage.open_pipeline_amount, 0) as numeric(14, 2))
            as open_pipeline_amount,
        cast(coalesce(by_stage.weighted_pipeline_amount, 0) as numeric(14, 2))
            as weighted_pipeline_amount,
        cast(coalesce(by_stage.deals_without_rate, 0) as integer) as deals_without_rate,
        {{ base_currency() }} as base_currency
    from stage_probabilities
    left join by_stage
        on stage_probabilities.stage = by_stage.stage

)

select * from final
