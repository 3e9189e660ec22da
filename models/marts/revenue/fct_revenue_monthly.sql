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

final as (

    select
        account_id,
        revenue_month,
        cast(sum(recognised_revenue) as numeric(14, 2)) as recognised_revenue,
        cast(count(distinct project_id) as integer) as won_project_count
    from spread
    group by account_id, revenue_month

)

select * from final
