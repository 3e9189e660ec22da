{#
    Reads the system of record directly, not staging: see sf_account. Shared activities for
    meetings (EventRelation): one row per further contact of an Event, as in sf_task_relation
    (the Event's own WhoId, leads and relations of an activity on a lead left out; at most 50
    contacts per Event). Each row relates the contact to the Event (IsParent) without inviting
    them (IsInvitee false): the CRM knows who a meeting concerned, not who was invited or how
    they answered.
#}
with

activities as (

    select
        activity_id,
        lead_id,
        contact_id
    from {{ source('crm', 'activities') }}
    where activity_type = 'meeting'

),

relations as (

    select
        activity_id,
        contact_id,
        created_at,
        updated_at
    from {{ source('crm', 'activity_relations') }}
    where contact_id is not null

),

numbered as (

    select
        relations.activity_id,
        relations.contact_id,
        relations.updated_at,
        activities.contact_id is not null as has_who_contact,
        row_number() over (
            partition by relations.activity_id
            order by relations.created_at, relations.contact_id
        ) as relation_number
    from relations
    inner join activities
        on relations.activity_id = activities.activity_id
    where
        activities.lead_id is null
        and relations.contact_id is distinct from activities.contact_id

),

final as (

    select
        cast(activity_id as text) as "Event.Crm_Id__c",
        cast(contact_id as text) as "Contact:Relation.Crm_Id__c",
        true as "IsParent",
        false as "IsInvitee",
        updated_at as "LastModifiedDate"
    from numbered
    where relation_number <= 50 - case when has_who_contact then 1 else 0 end

)

select * from final
