{#
    Reads the system of record directly, not staging: see sf_account. Every activity except
    meetings (which are Events). WhoId and WhatId are polymorphic, so each kind of parent has its
    own column in Bulk API header syntax (ObjectType:Relationship.ExternalIdField); exactly one
    of the Lead and What columns is set, and a lead's activity names no contact, because in
    Salesforce a task about a lead can name nothing else.
#}
with

activities as (

    select
        activity_id,
        activity_type,
        direction,
        status,
        subject,
        body,
        occurred_at,
        due_date,
        lead_id,
        account_id,
        project_id,
        contact_id,
        created_at,
        updated_at
    from {{ source('crm', 'activities') }}
    where activity_type <> 'meeting'

),

final as (

    select
        cast(activity_id as text) as "Crm_Id__c",
        cast(lead_id as text) as "Lead:Who.Crm_Id__c",
        case when lead_id is null then cast(contact_id as text) end as "Contact:Who.Crm_Id__c",
        cast(account_id as text) as "Account:What.Crm_Id__c",
        cast(project_id as text) as "Opportunity:What.Crm_Id__c",
        nullif(btrim(subject), '') as "Subject",
        nullif(btrim(body), '') as "Description",
        case cast(activity_type as text)
            when 'email' then 'Email'
            when 'call' then 'Call'
            else 'Task'
        end as "TaskSubtype",
        case cast(status as text)
            when 'open' then 'Not Started'
            when 'completed' then 'Completed'
            when 'cancelled' then 'Deferred'
        end as "Status",
        cast('Normal' as text) as "Priority",
        -- The date Salesforce files the activity under: the due date, else the day it happened.
        coalesce(due_date, {{ local_date('occurred_at') }}) as "ActivityDate",
        due_date as "Crm_Due_Date__c",
        occurred_at as "CompletedDateTime",
        case
            when cast(activity_type as text) = 'call' and cast(direction as text) = 'inbound'
                then 'Inbound'
            when cast(activity_type as text) = 'call' and cast(direction as text) = 'outbound'
                then 'Outbound'
        end as "CallType",
        created_at as "CreatedDate",
        updated_at as "LastModifiedDate"
    from activities

)

select * from final
