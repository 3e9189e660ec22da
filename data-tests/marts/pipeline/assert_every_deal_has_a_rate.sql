-- Deals with an amount in a currency that public.exchange_rates cannot convert into the base
-- currency on the deal's rate day. They are left out of every base-currency figure (and counted
-- in deals_without_rate); warns, one row per currency, until a rate is added.
{{ config(severity='warn') }}

select
    currency_code,
    base_currency,
    count(*) as deal_count,
    min(project_name) as example_deal
from {{ ref('fct_opportunities') }}
where is_missing_rate
group by currency_code, base_currency
