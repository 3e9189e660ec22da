-- Deals that closed before they opened: fix opened_on or close_date of each row returned.
select
    project_id,
    project_name,
    opened_date,
    close_date,
    days_to_close
from {{ ref('fct_opportunities') }}
where days_to_close < 0
