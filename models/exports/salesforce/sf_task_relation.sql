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

further_contacts as (

    {{ salesforce_further_contacts(meetings=false) }}

),

final as (

    select
        cast(activity_id as text) as "Task.Crm_Id__c",
        cast(contact_id as text) as "Contact:Relation.Crm_Id__c",
        false as "IsWhat",
        updated_at as "LastModifiedDate"
    from further_contacts

)

select * from final
