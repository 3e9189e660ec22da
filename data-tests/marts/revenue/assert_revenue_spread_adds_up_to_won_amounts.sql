-- Spreading revenue over months must neither lose nor invent a cent: for every won project with
-- an amount, its months add up to exactly that amount. Returns the projects where they do not.
with

spread as (

    select
        project_id,
        sum(recognised_revenue) as spread_amount
    from {{ ref('int_projects_revenue_spread') }}
    group by project_id

),

won as (

    select
        project_id,
        amount
    from {{ ref('fct_opportunities') }}
    where
        is_won
        and amount is not null

)

select
    coalesce(won.project_id, spread.project_id) as project_id,
    won.amount,
    spread.spread_amount
from won
full outer join spread
    on won.project_id = spread.project_id
where
    won.project_id is null
    or spread.project_id is null
    or won.amount <> spread.spread_amount
