{{ config(indexes=[{'columns': ['month_start_date']}]) }}

with

lead_dates as (

    select
        min(created_date) as first_date,
        max(created_date) as last_date
    from {{ ref('stg_crm__leads') }}

),

project_dates as (

    select
        least(min(created_date), min(close_date), min(start_date)) as first_date,
        greatest(max(created_date), max(close_date), max(end_date)) as last_date
    from {{ ref('stg_crm__projects') }}

),

activity_dates as (

    -- min/max of the raw timestamp use its index; the local date follows from it.
    select
        {{ local_date('min(occurred_at)') }} as first_date,
        {{ local_date('max(occurred_at)') }} as last_date
    from {{ ref('stg_crm__activities') }}

),

bounds as (

    -- Whole calendar years from the earliest date in the data to the year after the later of
    -- the latest date and as_of_date, so every fact date finds its row.
    select
        cast(
            date_trunc(
                'year',
                least(
                    lead_dates.first_date,
                    project_dates.first_date,
                    activity_dates.first_date,
                    {{ as_of_date() }}
                )
            ) as date
        ) as first_day,
        cast(
            date_trunc(
                'year',
                greatest(
                    lead_dates.last_date,
                    project_dates.last_date,
                    activity_dates.last_date,
                    {{ as_of_date() }}
                )
            ) + interval '2 years' - interval '1 day' as date
        ) as last_day
    from lead_dates
    cross join project_dates
    cross join activity_dates

),

days as (

    select cast(day_series.day_start as date) as date_day
    from bounds
    cross join lateral generate_series(
        bounds.first_day, bounds.last_day, interval '1 day'
    ) as day_series (day_start)

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as date_year,
        cast(extract(quarter from date_day) as integer) as quarter_of_year,
        cast(extract(month from date_day) as integer) as month_of_year,
        to_char(date_day, 'FMMonth') as month_name,
        cast(date_trunc('month', date_day) as date) as month_start_date,
        to_char(date_day, 'YYYY-MM') as year_month,
        cast(extract(week from date_day) as integer) as iso_week_of_year,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(isodow from date_day) as integer) as day_of_week,
        to_char(date_day, 'FMDay') as day_name,
        extract(isodow from date_day) in (6, 7) as is_weekend,
        date_day = cast(
            date_trunc('month', date_day) + interval '1 month' - interval '1 day' as date
        ) as is_month_end
    from days

)

select * from final
