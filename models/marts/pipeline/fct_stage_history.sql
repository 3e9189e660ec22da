{{
    config(
        indexes=[
            {'columns': ['project_id']},
            {'columns': ['lead_id']},
        ]
    )
}}

with

lead_versions as (

    select
        'lead' as object_type,
        lead_id as object_id,
        lead_id,
        cast(null as uuid) as project_id,
        {{ unknown_member_id() }} as account_id,
        lead_status as stage,
        cast(null as numeric(14, 2)) as amount,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('snap_crm__lead_status') }}

),

project_versions as (

    select
        'project' as object_type,
        project_id as object_id,
        cast(null as uuid) as lead_id,
        project_id,
        account_id,
        stage,
        amount,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('snap_crm__project_stage') }}

),

versions as (

    select * from lead_versions
    union all
    select * from project_versions

),

-- The two window functions share one partition and order, so the versions are sorted once.
previous as (

    select
        object_type,
        object_id,
        lead_id,
        project_id,
        account_id,
        stage,
        amount,
        dbt_valid_from,
        dbt_valid_to,
        lag(stage) over (
            partition by object_type, object_id
            order by dbt_valid_from
        ) as previous_stage
    from versions

),

numbered as (

    -- A snapshot version starts a new stage period when its stage differs from the version
    -- before it; an amount change alone stays in the same period.
    select
        object_type,
        object_id,
        lead_id,
        project_id,
        account_id,
        stage,
        amount,
        dbt_valid_from,
        dbt_valid_to,
        sum(
            case
                when previous_stage is null or previous_stage <> stage then 1
                else 0
            end
        ) over (
            partition by object_type, object_id
            order by dbt_valid_from
            rows between unbounded preceding and current row
        ) as stage_sequence
    from previous

),

periods as (

    -- The amount and account of a period are those of its latest version.
    select
        object_type,
        object_id,
        lead_id,
        project_id,
        stage_sequence,
        stage,
        (array_agg(amount order by dbt_valid_from desc))[1] as period_amount,
        (array_agg(account_id order by dbt_valid_from desc))[1] as period_account_id,
        min(dbt_valid_from) as stage_entered_at,
        -- Still open (null) while the latest version of the period is current.
        case
            when count(dbt_valid_to) < count(*) then null
            else max(dbt_valid_to)
        end as stage_exited_at
    from numbered
    group by
        object_type,
        object_id,
        lead_id,
        project_id,
        stage_sequence,
        stage

),

final as (

    select
        md5(
            concat_ws('|', object_type, object_id, stage_sequence)
        ) as stage_history_id,
        object_type,
        lead_id,
        project_id,
        period_account_id as account_id,
        cast(stage_sequence as integer) as stage_sequence,
        stage,
        period_amount as amount,
        stage_entered_at,
        stage_exited_at,
        {{ local_date('stage_entered_at') }} as stage_entered_date,
        {{ local_date('stage_exited_at') }} as stage_exited_date,
        stage_exited_at is null as is_current,
        greatest(
            least(
                coalesce({{ local_date('stage_exited_at') }}, {{ as_of_date() }}),
                {{ as_of_date() }}
            ) - {{ local_date('stage_entered_at') }},
            0
        ) as days_in_stage
    from periods

)

select * from final
