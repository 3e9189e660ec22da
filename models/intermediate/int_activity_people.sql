{#
    Every person an activity concerns, one row per activity x contact or lead, keyed: the
    activity's own contact and lead (is_primary) and each further person in
    public.activity_relations that is not already the activity's own. fct_activity_relations
    copies the rows of the activities that changed from here, and its post-hook compares the two
    to add what is missing and remove what is gone (macros/incremental.sql). A view: every branch
    is an index lookup when filtered by activity_id (activities is read three times: "not
    materialized" keeps PostgreSQL from copying a million rows first).
#}
with

activities as not materialized (

    select
        activity_id,
        contact_id,
        lead_id,
        updated_at
    from {{ ref('stg_crm__activities') }}

),

relations as (

    select
        activity_id,
        contact_id,
        lead_id,
        updated_at
    from {{ ref('stg_crm__activity_relations') }}

),

contacts as (

    select
        contact_id,
        account_id
    from {{ ref('stg_crm__contacts') }}

),

leads as (

    select
        lead_id,
        converted_account_id
    from {{ ref('stg_crm__leads') }}

),

people as (

    -- The activity's own contact and lead are its primary relations (Salesforce lists the
    -- WhoId among TaskRelation rows too); public.activity_relations holds the others. A person
    -- entered both on the activity and as a relation is one row, the primary one.
    select
        activity_id,
        contact_id,
        cast(null as uuid) as lead_id,
        true as is_primary,
        updated_at
    from activities
    where contact_id is not null

    union all

    select
        activity_id,
        cast(null as uuid) as contact_id,
        lead_id,
        true as is_primary,
        updated_at
    from activities
    where lead_id is not null

    union all

    select
        relations.activity_id,
        relations.contact_id,
        relations.lead_id,
        false as is_primary,
        -- A further person's row changes with the activity or with the relation.
        greatest(relations.updated_at, activities.updated_at) as updated_at
    from relations
    inner join activities
        on relations.activity_id = activities.activity_id
    where
        not (
            coalesce(relations.contact_id = activities.contact_id, false)
            or coalesce(relations.lead_id = activities.lead_id, false)
        )

),

final as (

    select
        cast(
            md5(
                cast(people.activity_id as text)
                || ':'
                || cast(coalesce(people.contact_id, people.lead_id) as text)
            ) as uuid
        ) as activity_relation_key,
        people.activity_id,
        case when people.contact_id is not null then 'contact' else 'lead' end as relation_type,
        coalesce(people.contact_id, {{ unknown_member_id() }}) as contact_id,
        people.lead_id,
        -- The account the person stands for: a contact's account, the account a lead was
        -- converted into; else the unknown member.
        coalesce(
            contacts.account_id,
            leads.converted_account_id,
            {{ unknown_member_id() }}
        ) as account_id,
        people.is_primary,
        people.updated_at
    from people
    left join contacts
        on people.contact_id = contacts.contact_id
    left join leads
        on people.lead_id = leads.lead_id

)

select * from final
