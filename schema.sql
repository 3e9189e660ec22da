-- Consulting CRM: the operational schema (the system of record).
--
-- Apply with `crm db init` (or `psql -f schema.sql`). The file is re-appliable: on a database that
-- already has this version it changes nothing and keeps every row, so it is safe to run on every
-- deploy. Every statement below is written to be idempotent (IF NOT EXISTS, CREATE OR REPLACE, or a
-- DO block that checks the catalog first). A future version adds its changes at the end, guarded the
-- same way, and records itself in ingest.schema_version.
--
-- It runs unchanged on Supabase, on a plain PostgreSQL 15+ and on the embedded server.

set local client_min_messages = warning;

create schema if not exists ingest;
comment on schema ingest is
    'Import audit trail: batches and rejected rows. Not exposed to the REST API.';

-- ---------------------------------------------------------------------------------------------
-- Roles. Supabase already has anon, authenticated and service_role; elsewhere we create them so
-- that the same grants and policies apply everywhere. All are NOLOGIN: people log in as their own
-- roles and are granted membership.
-- ---------------------------------------------------------------------------------------------
do $roles$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin bypassrls;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'powerbi_reader') then
        create role powerbi_reader nologin;
    end if;
end
$roles$;

-- ---------------------------------------------------------------------------------------------
-- Enumerations. Every status is an enum so a typo cannot enter the data from any path.
-- ---------------------------------------------------------------------------------------------
do $types$
begin
    if to_regtype('public.lead_status') is null then
        create type public.lead_status as enum (
            'new', 'contacted', 'qualified', 'unqualified', 'converted'
        );
    end if;
    if to_regtype('public.project_stage') is null then
        create type public.project_stage as enum (
            'qualification', 'proposal', 'negotiation', 'won', 'lost'
        );
    end if;
    if to_regtype('public.delivery_status') is null then
        create type public.delivery_status as enum (
            'not_started', 'active', 'on_hold', 'completed', 'cancelled'
        );
    end if;
    if to_regtype('public.activity_type') is null then
        create type public.activity_type as enum ('email', 'call', 'meeting', 'note', 'task');
    end if;
    if to_regtype('public.activity_direction') is null then
        create type public.activity_direction as enum ('inbound', 'outbound');
    end if;
    if to_regtype('public.activity_status') is null then
        create type public.activity_status as enum ('open', 'completed', 'cancelled');
    end if;
    if to_regtype('ingest.batch_status') is null then
        create type ingest.batch_status as enum ('running', 'loaded', 'failed');
    end if;
end
$types$;

-- ---------------------------------------------------------------------------------------------
-- Import audit trail.
-- ---------------------------------------------------------------------------------------------
create table if not exists ingest.schema_version (
    version integer primary key,
    description text not null,
    applied_at timestamptz not null default now()
);

create table if not exists ingest.import_batches (
    import_batch_id bigint generated always as identity primary key,
    file_name text not null,
    file_sha256 text not null constraint import_batches_sha256_format
        check (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_size_bytes bigint constraint import_batches_file_size_nonnegative
        check (file_size_bytes >= 0),
    profile text,
    entity text,
    encoding text,
    status ingest.batch_status not null default 'running',
    is_dry_run boolean not null default false,
    rows_read integer not null default 0,
    rows_blank integer not null default 0,
    rows_inserted integer not null default 0,
    rows_updated integer not null default 0,
    rows_unchanged integer not null default 0,
    rows_rejected integer not null default 0,
    message text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint import_batches_counts_nonnegative check (
        least(rows_read, rows_blank, rows_inserted, rows_updated, rows_unchanged, rows_rejected) >= 0
    ),
    constraint import_batches_finished_after_start check (finished_at >= started_at)
);
create index if not exists import_batches_sha256_idx on ingest.import_batches (file_sha256);

create table if not exists ingest.rejected_rows (
    rejected_row_id bigint generated always as identity primary key,
    import_batch_id bigint not null
        references ingest.import_batches (import_batch_id) on delete cascade,
    row_number integer not null constraint rejected_rows_row_number_positive
        check (row_number > 0),
    column_name text,
    raw_value text,
    reason_code text not null constraint rejected_rows_reason_code_format
        check (reason_code ~ '^[a-z][a-z0-9_]*$'),
    message text not null,
    raw_row jsonb,
    created_at timestamptz not null default now()
);
create index if not exists rejected_rows_import_batch_id_idx
    on ingest.rejected_rows (import_batch_id);

-- ---------------------------------------------------------------------------------------------
-- Shared trigger: keep updated_at honest. The WHEN clause on each trigger skips updates that
-- change nothing, so an idempotent re-import does not touch updated_at.
-- ---------------------------------------------------------------------------------------------
create or replace function ingest.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $fn$
begin
    new.updated_at := pg_catalog.now();
    return new;
end
$fn$;
revoke all on function ingest.set_updated_at() from public;

-- ---------------------------------------------------------------------------------------------
-- Accounts: client organisations (Salesforce Account).
-- ---------------------------------------------------------------------------------------------
create table if not exists public.accounts (
    account_id uuid primary key default gen_random_uuid(),
    name text not null constraint accounts_name_not_blank check (btrim(name) <> ''),
    domain text constraint accounts_domain_format
        check (domain ~ '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$'),
    website text,
    industry text,
    phone text,
    street text,
    city text,
    state text,
    postal_code text,
    country text,
    annual_revenue numeric(14, 2) constraint accounts_annual_revenue_nonnegative
        check (annual_revenue >= 0),
    employee_count integer constraint accounts_employee_count_nonnegative
        check (employee_count >= 0),
    description text,
    external_id text,
    -- the system external_id belongs to (schema version 4): unique per system, not globally
    external_system text not null default 'manual',
    source text not null default 'manual',
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.accounts is 'Client organisations. Maps to the Salesforce Account object.';
create unique index if not exists accounts_domain_lower_key on public.accounts (lower(domain));
create index if not exists accounts_name_lower_idx on public.accounts (lower(name));
create index if not exists accounts_import_batch_id_idx on public.accounts (import_batch_id);

-- ---------------------------------------------------------------------------------------------
-- Contacts: people at accounts (Salesforce Contact).
-- ---------------------------------------------------------------------------------------------
create table if not exists public.contacts (
    contact_id uuid primary key default gen_random_uuid(),
    account_id uuid not null references public.accounts (account_id) on delete restrict,
    first_name text,
    last_name text,
    email text constraint contacts_email_format check (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    title text,
    department text,
    phone text,
    mobile_phone text,
    linkedin_url text,
    city text,
    country text,
    has_opted_out_of_email boolean not null default false,
    description text,
    external_id text,
    -- the system external_id belongs to (schema version 4): unique per system, not globally
    external_system text not null default 'manual',
    source text not null default 'manual',
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint contacts_identified check (
        coalesce(nullif(btrim(last_name), ''), nullif(btrim(first_name), ''), email) is not null
    )
);
comment on table public.contacts is 'People at client accounts. Maps to the Salesforce Contact object.';
create unique index if not exists contacts_email_lower_key on public.contacts (lower(email));
create index if not exists contacts_account_id_idx on public.contacts (account_id);
create index if not exists contacts_import_batch_id_idx on public.contacts (import_batch_id);

-- ---------------------------------------------------------------------------------------------
-- Projects: the deal and its delivery (Salesforce Opportunity).
-- ---------------------------------------------------------------------------------------------
create table if not exists public.projects (
    project_id uuid primary key default gen_random_uuid(),
    account_id uuid not null references public.accounts (account_id) on delete restrict,
    primary_contact_id uuid references public.contacts (contact_id) on delete set null,
    name text not null constraint projects_name_not_blank check (btrim(name) <> ''),
    stage public.project_stage not null default 'qualification',
    amount numeric(14, 2) constraint projects_amount_nonnegative check (amount >= 0),
    currency_code text not null default 'EUR'
        constraint projects_currency_code_format check (currency_code ~ '^[A-Z]{3}$'),
    probability numeric(5, 4) constraint projects_probability_fraction
        check (probability between 0 and 1),
    close_date date,
    start_date date,
    end_date date,
    delivery_status public.delivery_status,
    lead_source text,
    project_type text,
    next_step text,
    description text,
    external_id text,
    -- the system external_id belongs to (schema version 4): unique per system, not globally
    external_system text not null default 'manual',
    source text not null default 'manual',
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint projects_end_after_start check (end_date >= start_date),
    constraint projects_closed_has_close_date
        check (stage not in ('won', 'lost') or close_date is not null),
    constraint projects_delivery_only_when_won
        check (delivery_status is null or stage = 'won')
);
comment on table public.projects is
    'Deals and their delivery: one row per engagement. Maps to the Salesforce Opportunity object.';
create index if not exists projects_account_id_idx on public.projects (account_id);
create index if not exists projects_primary_contact_id_idx on public.projects (primary_contact_id);
create index if not exists projects_import_batch_id_idx on public.projects (import_batch_id);

-- ---------------------------------------------------------------------------------------------
-- Leads: people and companies not yet clients (Salesforce Lead).
-- ---------------------------------------------------------------------------------------------
create table if not exists public.leads (
    lead_id uuid primary key default gen_random_uuid(),
    first_name text,
    last_name text,
    company text,
    title text,
    email text constraint leads_email_format check (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    phone text,
    website text,
    linkedin_url text,
    city text,
    country text,
    lead_source text,
    status public.lead_status not null default 'new',
    estimated_amount numeric(14, 2) constraint leads_estimated_amount_nonnegative
        check (estimated_amount >= 0),
    description text,
    converted_account_id uuid references public.accounts (account_id) on delete restrict,
    converted_contact_id uuid references public.contacts (contact_id) on delete set null,
    converted_project_id uuid references public.projects (project_id) on delete set null,
    converted_date date,
    external_id text,
    -- the system external_id belongs to (schema version 4): unique per system, not globally
    external_system text not null default 'manual',
    source text not null default 'manual',
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint leads_identified check (
        coalesce(
            nullif(btrim(last_name), ''), nullif(btrim(first_name), ''),
            nullif(btrim(company), ''), email, linkedin_url
        ) is not null
    ),
    -- A converted lead must say which account it became; only a converted lead may.
    constraint leads_converted_has_account
        check ((status = 'converted') = (converted_account_id is not null)),
    constraint leads_converted_has_date
        check ((status = 'converted') = (converted_date is not null)),
    constraint leads_conversion_links_only_when_converted check (
        status = 'converted' or num_nonnulls(converted_contact_id, converted_project_id) = 0
    )
);
comment on table public.leads is
    'Prospects not yet clients, from lead lists, contact exports and enquiries. '
    'Maps to the Salesforce Lead object.';
create unique index if not exists leads_email_lower_key on public.leads (lower(email));
create index if not exists leads_converted_account_id_idx on public.leads (converted_account_id);
create index if not exists leads_converted_contact_id_idx on public.leads (converted_contact_id);
create index if not exists leads_converted_project_id_idx on public.leads (converted_project_id);
create index if not exists leads_import_batch_id_idx on public.leads (import_batch_id);

-- ---------------------------------------------------------------------------------------------
-- Activities: the shared timeline (Salesforce Task and Event). Each belongs to exactly one of a
-- lead, an account or a project, and optionally names the contact it was with.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.activities (
    activity_id uuid primary key default gen_random_uuid(),
    activity_type public.activity_type not null,
    direction public.activity_direction,
    status public.activity_status not null default 'completed',
    subject text,
    body text,
    occurred_at timestamptz not null,
    ends_at timestamptz,
    due_date date,
    lead_id uuid references public.leads (lead_id) on delete cascade,
    account_id uuid references public.accounts (account_id) on delete cascade,
    project_id uuid references public.projects (project_id) on delete cascade,
    contact_id uuid references public.contacts (contact_id) on delete set null,
    thread_key text,
    details jsonb not null default '{}'::jsonb,
    external_id text,
    -- the system external_id belongs to (schema version 4): unique per system, not globally
    external_system text not null default 'manual',
    source text not null default 'manual',
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint activities_one_parent check (num_nonnulls(lead_id, account_id, project_id) = 1),
    constraint activities_ends_after_start check (ends_at >= occurred_at),
    constraint activities_details_is_object check (jsonb_typeof(details) = 'object')
);
comment on table public.activities is
    'Emails, calls, meetings, notes and tasks, each linked to one lead, account or project. '
    'Maps to Salesforce Task (and Event for meetings).';
create index if not exists activities_lead_id_idx on public.activities (lead_id);
create index if not exists activities_account_id_idx on public.activities (account_id);
create index if not exists activities_project_id_idx on public.activities (project_id);
create index if not exists activities_contact_id_idx on public.activities (contact_id);
create index if not exists activities_import_batch_id_idx on public.activities (import_batch_id);
create index if not exists activities_occurred_at_idx on public.activities (occurred_at);

-- ---------------------------------------------------------------------------------------------
-- updated_at triggers, row level security, policies and grants for every public table.
-- ---------------------------------------------------------------------------------------------
do $security$
declare
    table_name text;
begin
    foreach table_name in array array['accounts', 'contacts', 'leads', 'projects', 'activities']
    loop
        if not exists (
            select from pg_catalog.pg_trigger
            where tgname = table_name || '_set_updated_at'
              and tgrelid = ('public.' || table_name)::regclass
        ) then
            execute format(
                'create trigger %I before update on public.%I for each row '
                'when (old.* is distinct from new.*) execute function ingest.set_updated_at()',
                table_name || '_set_updated_at', table_name
            );
        end if;

        execute format('alter table public.%I enable row level security', table_name);

        -- The policies for authenticated (members only) are in the access control section below.

        -- Supabase grants everything to anon by default; anon gets nothing at all (issue 14).
        -- TRUNCATE bypasses RLS, and REFERENCES and TRIGGER are no API role's business.
        execute format('revoke all on public.%I from anon', table_name);
        execute format(
            'revoke truncate, references, trigger on public.%I from authenticated',
            table_name
        );
        execute format(
            'grant select, insert, update, delete on public.%I to authenticated, service_role',
            table_name
        );
        execute format('revoke all on public.%I from powerbi_reader', table_name);
    end loop;
end
$security$;

grant usage on schema public to anon, authenticated, service_role;
revoke all on schema ingest from public, anon, authenticated, powerbi_reader;

-- ---------------------------------------------------------------------------------------------
-- BEGIN mail import (issue 4): every parsed message, whether or not it became an activity.
-- One row per distinct message (normalised Message-ID, or the SHA-256 of its bytes when it has
-- none, plus a content fingerprint). Unmatched mail waits here, body included, until
-- `crm relink` finds its contact, lead or account; once linked the body lives on the activity.
-- ---------------------------------------------------------------------------------------------
create table if not exists ingest.mail_messages (
    mail_message_id bigint generated always as identity primary key,
    message_key text not null,
    message_id text,
    content_sha256 text not null constraint mail_messages_content_sha256_format
        check (content_sha256 ~ '^[0-9a-f]{64}$'),
    has_message_id_conflict boolean not null default false,
    occurred_at timestamptz not null,
    direction public.activity_direction not null,
    from_address text,
    from_name text,
    counterpart_addresses text[] not null default '{}',
    subject text,
    body text,
    thread_key text,
    labels text[] not null default '{}',
    details jsonb not null default '{}'::jsonb constraint mail_messages_details_is_object
        check (jsonb_typeof(details) = 'object'),
    is_automated boolean not null default false,
    link_state text not null default 'unmatched' constraint mail_messages_link_state_valid
        check (link_state in ('linked', 'unmatched', 'internal')),
    linked_by text constraint mail_messages_linked_by_valid
        check (linked_by in ('contact', 'lead', 'domain')),
    linked_address text,
    linked_at timestamptz,
    contact_id uuid references public.contacts (contact_id) on delete set null,
    lead_id uuid references public.leads (lead_id) on delete set null,
    account_id uuid references public.accounts (account_id) on delete set null,
    activity_id uuid references public.activities (activity_id) on delete set null,
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint mail_messages_key_content_key unique (message_key, content_sha256),
    constraint mail_messages_linked_says_how
        check ((link_state = 'linked') = (linked_by is not null))
);
comment on table ingest.mail_messages is
    'Every message read from a mail export, with its header facts and link state; '
    'unmatched ones link later (crm relink) without reading the export again.';
create index if not exists mail_messages_unmatched_idx
    on ingest.mail_messages (mail_message_id) where link_state = 'unmatched';
create index if not exists mail_messages_contact_id_idx on ingest.mail_messages (contact_id);
create index if not exists mail_messages_lead_id_idx on ingest.mail_messages (lead_id);
create index if not exists mail_messages_account_id_idx on ingest.mail_messages (account_id);
create index if not exists mail_messages_activity_id_idx on ingest.mail_messages (activity_id);
create index if not exists mail_messages_import_batch_id_idx
    on ingest.mail_messages (import_batch_id);
do $mail$
begin
    if not exists (
        select from pg_catalog.pg_trigger
        where tgname = 'mail_messages_set_updated_at'
          and tgrelid = 'ingest.mail_messages'::regclass
    ) then
        create trigger mail_messages_set_updated_at before update on ingest.mail_messages
            for each row when (old.* is distinct from new.*)
            execute function ingest.set_updated_at();
    end if;
end
$mail$;
-- END mail import (issue 4)

-- ---------------------------------------------------------------------------------------------
-- Version 2: activities.updated_at is a change cursor. The database stamps it on insert too (a
-- client's own value is replaced), so every activity written since a moment carries a later
-- updated_at whoever wrote it, and an index finds them. The incremental fct_activities reads only
-- those each night instead of comparing a million rows.
-- ---------------------------------------------------------------------------------------------
create index if not exists activities_updated_at_idx on public.activities (updated_at);
do $cursor$
begin
    if not exists (
        select from pg_catalog.pg_trigger
        where tgname = 'activities_stamp_updated_at'
          and tgrelid = 'public.activities'::regclass
    ) then
        create trigger activities_stamp_updated_at before insert on public.activities
            for each row execute function ingest.set_updated_at();
    end if;
end
$cursor$;

-- ---------------------------------------------------------------------------------------------
-- BEGIN access control (issue 14): only members see the CRM through the API.
--
-- A signed-in user (role authenticated, through Supabase's REST API) reads and writes the public
-- tables only while their user id is in crm_private.members; everyone else who signs up sees no
-- rows and changes none. anon has no privileges on the tables at all. crm_private is not a schema
-- the REST API exposes (Supabase exposes public and graphql_public).
-- ---------------------------------------------------------------------------------------------

-- Supabase's auth.uid() and auth.jwt(), where there is no Supabase: they read the claims PostgREST
-- sets for each request (request.jwt.claims), so the policies are the same on every server and can
-- be tested here. On Supabase the auth schema exists and belongs to Supabase: it is left alone.
-- The stand-in is recognised by its comment, so a re-apply can upgrade it.
do $auth$
declare
    stand_in constant text :=
        'Stand-in for Supabase Auth''s uid() and jwt(), created by the Consulting CRM schema.sql '
        'because this server has no Supabase.';
begin
    if to_regnamespace('auth') is null then
        create schema auth;
        execute format('comment on schema auth is %L', stand_in);
    end if;
    if obj_description(to_regnamespace('auth'), 'pg_namespace') is distinct from stand_in then
        return;  -- Supabase's own auth schema (or someone else's): not ours to change
    end if;
    -- The claims of the request as jsonb; NULL outside a request. Like Supabase's, it also reads
    -- the older single setting request.jwt.claim.
    create or replace function auth.jwt() returns jsonb
        language sql stable
        as $jwt$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $jwt$;
    -- The user id (the token's sub) as uuid; NULL outside a request. Like Supabase's, it falls
    -- back from request.jwt.claim.sub to request.jwt.claims->>'sub'.
    create or replace function auth.uid() returns uuid
        language sql stable
        as $uid$
            select nullif(
                coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
                ),
                ''
            )::uuid
        $uid$;
    grant usage on schema auth to anon, authenticated, service_role;
end
$auth$;

create schema if not exists crm_private;
comment on schema crm_private is
    'Who may use the CRM through the API (members). Not exposed to the REST API.';
revoke all on schema crm_private from public;
grant usage on schema crm_private to authenticated;

create table if not exists crm_private.members (
    user_id uuid primary key,
    email text constraint members_email_syntax
        check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    added_at timestamptz not null default now(),
    added_by text not null default current_user
);
comment on table crm_private.members is
    'Users (by Supabase user id, the sub of their token) who may read and write the CRM through '
    'the API. Managed with `crm db members`; a removal takes effect at the next statement.';

-- On Supabase a member is a Supabase user: deleting the user removes the membership.
do $members_users$
begin
    if to_regclass('auth.users') is not null and not exists (
        select from pg_catalog.pg_constraint
        where conname = 'members_user_id_fkey' and conrelid = 'crm_private.members'::regclass
    ) then
        alter table crm_private.members add constraint members_user_id_fkey
            foreign key (user_id) references auth.users (id) on delete cascade;
    end if;
end
$members_users$;

-- A signed-in user may see whether they themselves are a member, and nothing else: the
-- membership check below runs with the caller's rights (no SECURITY DEFINER function for API
-- roles, which Supabase's linter warns about), so it reads this table through this policy.
alter table crm_private.members enable row level security;
revoke all on crm_private.members from public, anon, authenticated, service_role, powerbi_reader;
grant select (user_id) on crm_private.members to authenticated;
do $members_policy$
begin
    if not exists (
        select from pg_catalog.pg_policies
        where schemaname = 'crm_private' and tablename = 'members'
          and policyname = 'members_see_themselves'
    ) then
        create policy members_see_themselves on crm_private.members for select to authenticated
            using (user_id = (select auth.uid()));
    end if;
end
$members_policy$;

-- Is the user of this request a member? Policies call it as `(select crm_private.is_member())`,
-- an initPlan: PostgreSQL evaluates it once per statement, not once per row.
create or replace function crm_private.is_member() returns boolean
    language sql stable security invoker
    set search_path = ''
    as $is_member$
        select exists (
            select from crm_private.members as m where m.user_id = (select auth.uid())
        )
    $is_member$;
revoke all on function crm_private.is_member() from public, anon;
grant execute on function crm_private.is_member() to authenticated;

-- One policy per table and command for authenticated; the old single-owner policy
-- (authenticated_full_access, using (true)) is dropped, rows stay.
do $member_policies$
declare
    table_name text;
    command text;
    clauses constant jsonb := jsonb_build_object(
        'select', 'using ((select crm_private.is_member()))',
        'insert', 'with check ((select crm_private.is_member()))',
        'update',
            'using ((select crm_private.is_member())) with check ((select crm_private.is_member()))',
        'delete', 'using ((select crm_private.is_member()))'
    );
begin
    foreach table_name in array array['accounts', 'contacts', 'leads', 'projects', 'activities']
    loop
        execute format('drop policy if exists authenticated_full_access on public.%I', table_name);
        foreach command in array array['select', 'insert', 'update', 'delete']
        loop
            if not exists (
                select from pg_catalog.pg_policies
                where schemaname = 'public' and tablename = table_name
                  and policyname = 'members_' || command
            ) then
                execute format(
                    'create policy %I on public.%I for %s to authenticated %s',
                    'members_' || command, table_name, command, clauses ->> command
                );
            end if;
        end loop;
    end loop;
end
$member_policies$;
-- END access control (issue 14)

-- BEGIN pooler-safe locks (issue 14) ----------------------------------------------------------
-- The locks that keep runs apart are rows, not advisory locks. Advisory locks fail twice: a
-- session-level one taken through a transaction-mode pooler (Supabase's on port 6543, PgBouncer
-- with pool_mode = transaction) sits on whichever server connection the pooler lent for that one
-- transaction, so two `crm nightly` runs both proceed; and any role that can connect, a Power BI
-- reader or an API role included, can take (or hold on to) any advisory lock. A row in `ingest`
-- can be locked or leased only by a role with UPDATE on this table, which is the role that
-- applied schema.sql: the API roles and powerbi_reader have no access to `ingest` at all.
--   nightly  a lease: `crm nightly` sets holder/host/pid/expires_at with one UPDATE that succeeds
--            only when no unexpired lease exists, renews expires_at while it runs and clears it
--            at the end. A run killed with kill -9 stops renewing; its lease runs out on its own.
--   import   a row lock: each imported file's transaction takes `select … for update` of this
--            row (ingest.audit.lock_imports), so imports, mail and relink run one at a time.
-- ---------------------------------------------------------------------------------------------
create table if not exists ingest.run_locks (
    name text primary key constraint run_locks_name_known check (name in ('nightly', 'import')),
    holder text,
    host text,
    pid integer,
    acquired_at timestamptz,
    renewed_at timestamptz,
    expires_at timestamptz,
    constraint run_locks_lease_complete check (
        (holder is null and expires_at is null)
        or (holder is not null and acquired_at is not null and expires_at > acquired_at)
    )
);
comment on table ingest.run_locks is
    'Locks between CRM runs: a lease row for crm nightly, a row every import locks FOR UPDATE. '
    'Pooler-safe, and out of reach of roles without UPDATE here (readers, API roles).';
insert into ingest.run_locks (name) values ('nightly'), ('import') on conflict (name) do nothing;
revoke all on table ingest.run_locks from public, anon, authenticated, service_role, powerbi_reader;

-- END pooler-safe locks (issue 14) ------------------------------------------------------------

-- BEGIN length limits (issue 13, schema version 4) -------------------------------------------
-- The most characters a text column may hold, the same limits the importer checks per row
-- (ingest/entities.py: Field.length_limit; tests/ingest/test_entities.py compares the two), so
-- every path in (an import, the REST API, psql) is held to them: names, titles and external ids
-- 255 (Salesforce's Name), emails 254, domains 253, phones 40, web addresses 2048; descriptions and
-- bodies have none. Without them a 4,000-character name failed a whole file on the btree index of
-- lower(name) ("index row too large") instead of being one rejected row.
-- Each CHECK is `<table>_<column>_length`. It is added NOT VALID, which checks every row written
-- from now on without reading the rows already there, so `crm db init` never fails on a database
-- that already holds a longer value; then it is validated when the stored rows allow it (and
-- left NOT VALID, with a notice naming it, when they do not: shorten those values and run
-- `crm db init` again, which retries). A later version that changes a limit drops and re-adds
-- its constraint.
do $lengths$
declare
    spec record;
    limit_name text;
begin
    for spec in
        select *
        from (values
            ('leads', 'external_id', 255), ('leads', 'first_name', 255),
            ('leads', 'last_name', 255), ('leads', 'company', 255), ('leads', 'title', 255),
            ('leads', 'email', 254), ('leads', 'phone', 40), ('leads', 'website', 2048),
            ('leads', 'linkedin_url', 2048), ('leads', 'city', 255), ('leads', 'country', 255),
            ('leads', 'lead_source', 255), ('accounts', 'external_id', 255),
            ('accounts', 'name', 255), ('accounts', 'domain', 253), ('accounts', 'website', 2048),
            ('accounts', 'industry', 255), ('accounts', 'phone', 40), ('accounts', 'street', 255),
            ('accounts', 'city', 255), ('accounts', 'state', 255),
            ('accounts', 'postal_code', 20), ('accounts', 'country', 255),
            ('contacts', 'external_id', 255), ('contacts', 'first_name', 255),
            ('contacts', 'last_name', 255), ('contacts', 'email', 254),
            ('contacts', 'title', 255), ('contacts', 'department', 255),
            ('contacts', 'phone', 40), ('contacts', 'mobile_phone', 40),
            ('contacts', 'linkedin_url', 2048), ('contacts', 'city', 255),
            ('contacts', 'country', 255), ('projects', 'external_id', 255),
            ('projects', 'name', 255), ('projects', 'currency_code', 3),
            ('projects', 'lead_source', 255), ('projects', 'project_type', 255),
            ('projects', 'next_step', 255), ('activities', 'external_id', 255),
            ('activities', 'subject', 255)
        ) as limits (table_name, column_name, max_length)
    loop
        limit_name := spec.table_name || '_' || spec.column_name || '_length';
        if not exists (
            select from pg_catalog.pg_constraint
            where conname = limit_name
              and conrelid = format('public.%I', spec.table_name)::regclass
        ) then
            execute format(
                'alter table public.%I add constraint %I check (char_length(%I) <= %s) not valid',
                spec.table_name, limit_name, spec.column_name, spec.max_length
            );
        end if;
    end loop;
    for spec in
        select c.conrelid::regclass as table_name, c.conname as limit_name
        from pg_catalog.pg_constraint c
        where not c.convalidated and c.contype = 'c' and c.conname like '%\_length'
          and c.connamespace = 'public'::regnamespace
    loop
        begin
            execute format(
                'alter table %s validate constraint %I', spec.table_name, spec.limit_name
            );
        exception when check_violation then
            -- New and changed rows are held to it; the stored ones wait to be shortened.
            raise notice '%: stored values break %; shorten them, then run crm db init again',
                spec.table_name, spec.limit_name;
        end;
    end loop;
end
$lengths$;
-- END length limits (issue 13, schema version 4) ---------------------------------------------


-- BEGIN external ids per source system (issue 13, schema version 4) --------------------------
-- An external id is unique within the system it came from (the import profile: generic, hubspot,
-- salesforce, google_contacts, linkedin, outlook; mail for mail; manual for rows written by
-- hand), not globally: HubSpot contact 901 and a generic file's record 901 are two records.
-- Databases from before version 4 get external_system filled from source (the system that
-- created the row, the only one that could have set its id until now), then the unique key
-- (external_id, external_system) replaces the global external_id unique (external_id first, so
-- a lookup by the id alone, as references from another system need, uses it too). Re-applying
-- changes nothing.
-- ---------------------------------------------------------------------------------------------
do $external_system$
declare
    target text;
begin
    foreach target in array array['accounts', 'contacts', 'projects', 'leads', 'activities']
    loop
        if not exists (
            select from information_schema.columns c
            where c.table_schema = 'public' and c.table_name = target
              and c.column_name = 'external_system'
        ) then
            execute format('alter table public.%I add column external_system text', target);
            execute format('update public.%I set external_system = source', target);
            execute format(
                'alter table public.%I alter column external_system set default ''manual'', '
                'alter column external_system set not null',
                target
            );
        end if;
        if not exists (
            select from pg_catalog.pg_constraint
            where conname = target || '_external_id_system_key'
              and conrelid = format('public.%I', target)::regclass
        ) then
            execute format(
                'alter table public.%I add constraint %I unique (external_id, external_system)',
                target, target || '_external_id_system_key'
            );
        end if;
        execute format(
            'alter table public.%I drop constraint if exists %I',
            target, target || '_external_id_key'
        );
    end loop;
end
$external_system$;
-- END external ids per source system (issue 13, schema version 4) ----------------------------

-- BEGIN shared activities (issue 15, schema version 5) ----------------------------------------
-- An email, call or meeting can concern several people, like Salesforce's shared activities
-- (TaskRelation, EventRelation). The activity keeps its primary parent in public.activities
-- (lead_id, account_id or project_id, and optionally contact_id); each further contact or lead it
-- concerns is one row here. The primary contact or lead is not repeated here: it lives in one
-- place, which every writer (imports, the REST API, psql) already sets, so changing an
-- activity's contact cannot leave a stale copy behind. The dbt bridge fct_activity_relations
-- and the Salesforce export add the primary back as a relation, as Salesforce lists the WhoId
-- among TaskRelation rows. Each row names exactly one contact or lead; one person once per
-- activity. Deleting the activity, the contact or the lead deletes the relation.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.activity_relations (
    activity_relation_id uuid primary key default gen_random_uuid(),
    activity_id uuid not null references public.activities (activity_id) on delete cascade,
    contact_id uuid references public.contacts (contact_id) on delete cascade,
    lead_id uuid references public.leads (lead_id) on delete cascade,
    source text not null default 'manual',
    import_batch_id bigint
        references ingest.import_batches (import_batch_id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint activity_relations_one_person check (num_nonnulls(contact_id, lead_id) = 1),
    constraint activity_relations_contact_key unique (activity_id, contact_id),
    constraint activity_relations_lead_key unique (activity_id, lead_id)
);
comment on table public.activity_relations is
    'Further contacts and leads an activity concerns, besides its primary parent. Maps to '
    'Salesforce TaskRelation and EventRelation.';
create index if not exists activity_relations_contact_id_idx
    on public.activity_relations (contact_id);
create index if not exists activity_relations_lead_id_idx on public.activity_relations (lead_id);
create index if not exists activity_relations_import_batch_id_idx
    on public.activity_relations (import_batch_id);
-- END shared activities (issue 15, schema version 5) ------------------------------------------

-- BEGIN business dates and exchange rates (issue 15, schema version 5) -------------------------
-- created_at is when the record was first known (an audit fact: the import day when the file has
-- no creation date). opened_on is the business date a lead or deal started, filled only when the
-- source gives it (Salesforce/HubSpot CreatedDate, a generic file's opened_on column); unknown is
-- NULL, never a guess. Sales-cycle figures use opened_on and leave deals without it out.
-- public.exchange_rates: the rates the user maintains (no network): one base-currency amount per
-- unit of a currency from a day on. A deal in a currency without a rate on its date is left out
-- of the headline figures and counted, never summed as if it were the base currency.
-- ---------------------------------------------------------------------------------------------
alter table public.leads add column if not exists opened_on date;
alter table public.projects add column if not exists opened_on date;
comment on column public.leads.opened_on is
    'The day the lead first came in, when the source says so; NULL when unknown.';
comment on column public.projects.opened_on is
    'The day the deal was opened, when the source says so; NULL when unknown.';

create table if not exists public.exchange_rates (
    exchange_rate_id uuid primary key default gen_random_uuid(),
    currency_code text not null,
    base_currency text not null,
    valid_from date not null,
    rate numeric(18, 8) not null,
    note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint exchange_rates_currency_code_format check (currency_code ~ '^[A-Z]{3}$'),
    constraint exchange_rates_base_currency_format check (base_currency ~ '^[A-Z]{3}$'),
    constraint exchange_rates_not_to_itself check (currency_code <> base_currency),
    constraint exchange_rates_rate_positive check (rate > 0),
    constraint exchange_rates_note_length check (char_length(note) <= 255),
    constraint exchange_rates_one_rate_a_day unique (currency_code, base_currency, valid_from)
);
comment on table public.exchange_rates is
    'Exchange rates you maintain: 1 unit of currency_code is worth rate units of base_currency '
    'from valid_from until the next row of the same pair. Read by dbt (currency.base).';

-- Both new tables get the trigger, row level security, grants and member policies every other
-- public table has (the version 1 and 3 blocks above do the same for the first five).
do $version_5_security$
declare
    table_name text;
    command text;
    clauses constant jsonb := jsonb_build_object(
        'select', 'using ((select crm_private.is_member()))',
        'insert', 'with check ((select crm_private.is_member()))',
        'update',
            'using ((select crm_private.is_member())) with check ((select crm_private.is_member()))',
        'delete', 'using ((select crm_private.is_member()))'
    );
begin
    foreach table_name in array array['activity_relations', 'exchange_rates']
    loop
        if not exists (
            select from pg_catalog.pg_trigger
            where tgname = table_name || '_set_updated_at'
              and tgrelid = format('public.%I', table_name)::regclass
        ) then
            execute format(
                'create trigger %I before update on public.%I for each row '
                'when (old.* is distinct from new.*) execute function ingest.set_updated_at()',
                table_name || '_set_updated_at', table_name
            );
        end if;
        execute format('alter table public.%I enable row level security', table_name);
        execute format('revoke all on public.%I from anon', table_name);
        execute format(
            'revoke truncate, references, trigger on public.%I from authenticated', table_name
        );
        execute format(
            'grant select, insert, update, delete on public.%I to authenticated, service_role',
            table_name
        );
        execute format('revoke all on public.%I from powerbi_reader', table_name);
        foreach command in array array['select', 'insert', 'update', 'delete']
        loop
            if not exists (
                select from pg_catalog.pg_policies
                where schemaname = 'public' and tablename = table_name
                  and policyname = 'members_' || command
            ) then
                execute format(
                    'create policy %I on public.%I for %s to authenticated %s',
                    'members_' || command, table_name, command, clauses ->> command
                );
            end if;
        end loop;
    end loop;
end
$version_5_security$;
-- END business dates and exchange rates (issue 15, schema version 5) ---------------------------

-- BEGIN import batches per sheet (issue 16, schema version 6) ---------------------------------
-- A workbook whose sheets share one header row (a sheet per year) is imported sheet by sheet in
-- one transaction, one batch per sheet: a batch is known by the file's bytes and the sheet's
-- name, so a sheet that was not imported before is imported although the bytes were. Null for a
-- CSV file, and for the workbooks imported before version 6 (their batch covers the file).
alter table ingest.import_batches add column if not exists sheet text;
-- END import batches per sheet (issue 16, schema version 6) -----------------------------------

-- ---------------------------------------------------------------------------------------------
-- Version record.
-- ---------------------------------------------------------------------------------------------
insert into ingest.schema_version (version, description)
values
    (1, 'accounts, contacts, leads, projects, activities; import audit trail; RLS'),
    (2, 'activities.updated_at stamped on insert and indexed (change cursor)'),
    (3, 'access control: members only (crm_private.members), anon without privileges; '
        'ingest.run_locks: pooler-safe nightly lease and import row lock'),
    (4, 'length limits on text columns (<table>_<column>_length); external ids unique per '
        'source system (external_system)'),
    (5, 'shared activities: public.activity_relations (further contacts and leads of an '
        'activity, Salesforce TaskRelation/EventRelation); business start dates '
        '(leads.opened_on, projects.opened_on); public.exchange_rates'),
    (6, 'ingest.import_batches.sheet: one import batch per sheet of a workbook')
on conflict (version) do nothing;
