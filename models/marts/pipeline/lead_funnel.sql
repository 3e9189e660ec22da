with

leads as (

    select
        lead_source,
        lead_source_group,
        is_contacted_or_later,
        is_qualified_or_later,
        is_converted,
        created_date,
        converted_date,
        days_to_convert
    from {{ ref('fct_leads') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

leads_as_of as (

    -- Leads created by as_of_date; a conversion counts once its date has come.
    select
        leads.lead_source,
        leads.lead_source_group,
        cast(date_trunc('month', leads.created_date) as date) as created_month,
        leads.is_contacted_or_later,
        leads.is_qualified_or_later,
        leads.is_converted and leads.converted_date <= as_of.as_of_date as is_converted,
        case
            when leads.is_converted and leads.converted_date <= as_of.as_of_date
                then leads.days_to_convert
        end as days_to_convert
    from leads
    cross join as_of
    where leads.created_date <= as_of.as_of_date

),

aggregated as (

    select
        lead_source,
        lead_source_group,
        created_month,
        count(*) as leads_created,
        sum(case when is_contacted_or_later then 1 else 0 end) as leads_contacted_or_later,
        sum(case when is_qualified_or_later then 1 else 0 end) as leads_qualified_or_later,
        sum(case when is_converted then 1 else 0 end) as leads_converted,
        percentile_cont(0.5) within group (order by days_to_convert) as median_days_to_convert
    from leads_as_of
    group by lead_source, lead_source_group, created_month

),

final as (

    select
        lead_source,
        lead_source_group,
        created_month,
        cast(leads_created as integer) as leads_created,
        cast(leads_contacted_or_later as integer) as leads_contacted_or_later,
        cast(leads_qualified_or_later as integer) as leads_qualified_or_later,
        cast(leads_converted as integer) as leads_converted,
        cast(round(1.0 * leads_converted / nullif(leads_created, 0), 6) as numeric(9, 6))
            as conversion_rate,
        cast(round(cast(median_days_to_convert as numeric), 1) as numeric(8, 1))
            as median_days_to_convert
    from aggregated

)

select * from final
