-- client_health has one row per account: every known account of dim_accounts appears in it.
select dim_accounts.account_id
from {{ ref('dim_accounts') }} as dim_accounts
left join {{ ref('client_health') }} as client_health
    on dim_accounts.account_id = client_health.account_id
where
    not dim_accounts.is_unknown_member
    and client_health.account_id is null
