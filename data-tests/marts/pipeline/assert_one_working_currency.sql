-- The headline marts add amounts up without currency conversion, which is right only while every
-- deal is in one currency. Warns (listing the currencies) as soon as a second one appears.
{{ config(severity='warn') }}

select
    currency_code,
    count(*) as deal_count
from {{ ref('fct_opportunities') }}
group by currency_code
having (select count(distinct currency_code) from {{ ref('fct_opportunities') }}) > 1
