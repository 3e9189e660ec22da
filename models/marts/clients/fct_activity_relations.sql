{{
    config(
        indexes=[
            {'columns': ['activity_relation_key'], 'unique': true},
            {'columns': ['activity_id']},
            {'columns': ['account_id']},
        ],
    )
}}

with

activities as (

    select
        activity_id,
        contact_id,
        lead_id
    from {{ ref('stg_crm__activities') }}

),

relations as (

    select
        activity_id,
        contact_id,
        lead_id
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
    -- WhoId among TaskRelation rows too); public.activity_relations holds the others.
    select
        activity_id,
        contact_id,
        cast(null as uuid) as lead_id,
        true as is_primary
    from activities
    where contact_id is not null

    union all

    select
        activity_id,
        cast(null as uuid) as contact_id,
        lead_id,
        true as is_primary
    from activities
    where lead_id is not null

    union all

    select
        activity_id,
        contact_id,
        lead_id,
        false as is_primary
    from relations

),

keyed as (

    -- A person entered both on the activity and as a relation is one row, the primary one.
    select distinct on (activity_id, coalesce(contact_id, lead_id))
        activity_id,
        contact_id,
        lead_id,
        is_primary,
        cast(
            md5(cast(activity_id as text) || ':' || cast(coalesce(contact_id, lead_id) as text))
            as uuid
        ) as activity_relation_key
    from people
    order by activity_id asc, coalesce(contact_id, lead_id) asc, is_primary desc

),

final as (

    select
        keyed.activity_relation_key,
        keyed.activity_id,
        case when keyed.contact_id is not null then 'contact' else 'lead' end as relation_type,
        coalesce(keyed.contact_id, {{ unknown_member_id() }}) as contact_id,
        keyed.lead_id,
        -- The account the person stands for: a contact's account, the account a lead was
        -- converted into; else the unknown member.
        coalesce(
            contacts.account_id,
            leads.converted_account_id,
            {{ unknown_member_id() }}
        ) as account_id,
        keyed.is_primary
    from keyed
    left join contacts
        on keyed.contact_id = contacts.contact_id
    left join leads
        on keyed.lead_id = leads.lead_id

)

select * from final
