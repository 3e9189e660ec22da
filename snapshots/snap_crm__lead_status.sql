{% snapshot snap_crm__lead_status %}

{{
    config(
        unique_key='lead_id',
        strategy='check',
        check_cols=['lead_status'],
        updated_at='updated_at',
        hard_deletes='invalidate',
    )
}}

select
    lead_id,
    cast(status as text) as lead_status,
    updated_at
from {{ source('crm', 'leads') }}

{% endsnapshot %}
