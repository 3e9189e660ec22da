with

source as (

    select
        exchange_rate_id,
        currency_code,
        base_currency,
        valid_from,
        rate
    from {{ source('crm', 'exchange_rates') }}

),

final as (

    select
        exchange_rate_id,
        currency_code,
        base_currency,
        valid_from,
        cast(
            lead(valid_from) over (
                partition by currency_code, base_currency order by valid_from
            ) - 1
            as date
        ) as valid_to,
        rate
    from source

)

select * from final
