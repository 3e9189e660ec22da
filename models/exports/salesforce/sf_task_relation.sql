{#
    Reads the system of record directly, not staging: see sf_account. Salesforce's shared
    activities (TaskRelation): one row per further contact of a Task, from
    public.activity_relations. Salesforce creates the relation of the Task's own WhoId itself
    when the Task is loaded, so the activity's primary contact is left out (a second one would be
    a duplicate). A Task relates to one lead or to up to 50 contacts, never both, and a Task on
    a lead names nothing else: so relations to leads, and relations of an activity on a lead,
    are not exported, and a Task gets at most 50 contacts (its WhoId included), the earliest
    related first. docs/salesforce-mapping.md lists what stays behind.
#}
with

activities as (

    select
        activity_id,
        lead_id,
        contact_id
    from {{ source('crm', 'activities') }}
    where activity_type <> 'meeting'

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
        cast(activity_id as text) as "Task.Crm_Id__c",
        cast(contact_id as text) as "Contact:Relation.Crm_Id__c",
        false as "IsWhat",
        updated_at as "LastModifiedDate"
    from numbered
    where relation_number <= 50 - case when has_who_contact then 1 else 0 end

)

select * from final
