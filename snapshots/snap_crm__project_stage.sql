{% snapshot snap_crm__project_stage %}

{{
    config(
        unique_key='project_id',
        strategy='check',
        check_cols=['stage', 'amount'],
        updated_at='updated_at',
        hard_deletes='invalidate',
    )
}}

select
    project_id,
    account_id,
    cast(stage as text) as stage,
    amount,
    updated_at
from {{ source('crm', 'projects') }}

{% endsnapshot %}
