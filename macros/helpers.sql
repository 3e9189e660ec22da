{#
    The local calendar date of a timestamptz in the reporting time zone (var reporting_timezone),
    so that a date never depends on the session's TimeZone setting.
#}
{% macro local_date(column) -%}
    cast(({{ column }} at time zone '{{ var("reporting_timezone") }}') as date)
{%- endmacro %}


{#
    Key of the unknown member of dim_accounts and dim_contacts: facts whose account or contact is
    missing point here, so an inner join in Power BI never drops a fact row.
#}
{% macro unknown_member_id() -%}
    cast('00000000-0000-0000-0000-000000000000' as uuid)
{%- endmacro %}


{#
    post-hook of incremental models: remove rows whose source row was deleted. The anti-join
    over the whole table only runs when the table holds more rows than its source (which is the
    case exactly when something was deleted, since every source row has just been merged in).
#}
{% macro delete_missing_rows(relation, source_relation, key) -%}
    delete from {{ relation }} as target_rows
    where
        (select count(*) from {{ relation }})
        > (select count(*) from {{ source_relation }})
        and not exists (
            select 1
            from {{ source_relation }} as source_rows
            where source_rows.{{ key }} = target_rows.{{ key }}
        )
{%- endmacro %}


{#
    post-hook of int_projects_revenue_spread: remove the months of projects that no longer
    recognise revenue (no longer won, amount cleared, deleted). An anti-join over the won
    projects' keys: a pass over tens of thousands of rows, so it simply runs every time.
#}
{% macro delete_rows_of_projects_not_won(relation, projects_relation) -%}
    delete from {{ relation }} as spread
    where not exists (
        select
        from {{ projects_relation }} as projects
        where
            projects.project_id = spread.project_id
            and projects.stage = 'won'
            and projects.amount is not null
    )
{%- endmacro %}


{#
    The base currency of every headline figure (var base_currency, from the setting
    currency.base), as a SQL text literal. An ISO 4217 code: three capital letters.
#}
{% macro base_currency() -%}
    {%- set code = var('base_currency', 'EUR') | string | trim | upper -%}
    {%- if not modules.re.match('^[A-Z]{3}$', code) -%}
        {{ exceptions.raise_compiler_error(
            "var base_currency must be an ISO 4217 code such as EUR, got '" ~ code ~ "'"
        ) }}
    {%- endif -%}
    cast('{{ code }}' as text)
{%- endmacro %}

{#
    The further contacts of Salesforce Tasks (meetings=false) or Events (meetings=true), for the
    TaskRelation and EventRelation exports: a select of activity_id, contact_id and updated_at.
    Salesforce relates an activity to one lead or to up to 50 contacts, never both, and creates
    the relation of its own WhoId itself: so relations of an activity on a lead and the primary
    contact are left out, and at most 50 contacts are kept (the WhoId included), earliest first.
#}
{% macro salesforce_further_contacts(meetings) -%}
    select
        relations.activity_id,
        relations.contact_id,
        relations.updated_at
    from (
        select
            relations.activity_id,
            relations.contact_id,
            relations.updated_at,
            activities.contact_id is not null as has_who_contact,
            row_number() over (
                partition by relations.activity_id
                order by relations.created_at, relations.contact_id
            ) as relation_number
        from {{ source('crm', 'activity_relations') }} as relations
        inner join {{ source('crm', 'activities') }} as activities
            on relations.activity_id = activities.activity_id
        where
            relations.contact_id is not null
            and activities.lead_id is null
            and relations.contact_id is distinct from activities.contact_id
            and activities.activity_type {{ '=' if meetings else '<>' }} 'meeting'
    ) as relations
    where relations.relation_number <= 50 - case when relations.has_who_contact then 1 else 0 end
{%- endmacro %}
