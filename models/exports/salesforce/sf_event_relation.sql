{#
    Reads the system of record directly, not staging: see sf_account. Shared activities for
    meetings (EventRelation): one row per further contact of an Event, as in sf_task_relation
    (the Event's own WhoId, leads and relations of an activity on a lead left out; at most 50
    contacts per Event). Each row relates the contact to the Event (IsParent) without inviting
    them (IsInvitee false): the CRM knows who a meeting concerned, not who was invited or how
    they answered.
#}
with

further_contacts as (

    {{ salesforce_further_contacts(meetings=true) }}

),

final as (

    select
        cast(activity_id as text) as "Event.Crm_Id__c",
        cast(contact_id as text) as "Contact:Relation.Crm_Id__c",
        true as "IsParent",
        false as "IsInvitee",
        updated_at as "LastModifiedDate"
    from further_contacts

)

select * from final
