-- Approval workflows (issue 13). A definition is what admins write; a run is one round
-- of one definition over one contract, started from a snapshot of the definition, so
-- editing a definition never changes a workflow already running. Stages and approvals
-- of a run are rows of their own: deadlines, decisions and delegation chains are
-- queried, locked and counted in SQL.

create table workflow_definitions (
    id                   uuid primary key default gen_random_uuid(),
    name                 text not null
                         constraint workflow_definitions_name_length check (char_length(name) between 1 and 200),
    description          text not null default ''
                         constraint workflow_definitions_description_length check (char_length(description) <= 2000),
    trigger_conditions   jsonb not null,
    stages               jsonb not null,
    priority             integer not null,
    is_active            boolean not null default true,
    allow_self_approval  boolean not null default false,
    version              integer not null default 1,
    created_by           uuid,
    updated_by           uuid,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

create unique index workflow_definitions_name_key on workflow_definitions (lower(name));

-- The highest priority wins, so two active definitions may not share one.
create unique index workflow_definitions_priority_key on workflow_definitions (priority) where is_active;

-- Every saved version of every definition, as it was: what a run started from.
create table workflow_definition_versions (
    definition_id  uuid not null
                   constraint workflow_definition_versions_definition_id_fkey references workflow_definitions (id) on delete cascade,
    version        integer not null,
    snapshot       jsonb not null,
    saved_by       uuid,
    saved_at       timestamptz not null default now(),
    constraint workflow_definition_versions_pkey primary key (definition_id, version)
);

create table workflow_runs (
    id                  uuid primary key default gen_random_uuid(),
    contract_id         uuid not null
                        constraint workflow_runs_contract_id_fkey references contracts (id) on delete cascade,
    definition_id       uuid
                        constraint workflow_runs_definition_id_fkey references workflow_definitions (id) on delete set null,
    definition_version  integer not null,
    definition_name     text not null,
    allow_self_approval boolean not null,
    -- The contract's version when the round started: decisions belong to it.
    contract_version    integer not null,
    round               integer not null,
    state               text not null
                        constraint workflow_runs_state_check check (state in ('running', 'approved', 'rejected', 'voided', 'cancelled')),
    started_by          uuid,
    started_at          timestamptz not null,
    finished_at         timestamptz,
    -- Why the run ended as it did (a rejection's reason, what voided it).
    reason              text
);

create unique index workflow_runs_one_running_key on workflow_runs (contract_id) where state = 'running';
create index workflow_runs_contract_idx on workflow_runs (contract_id, round);
create index workflow_runs_started_idx on workflow_runs (started_at);

create table workflow_stages (
    id                  uuid primary key default gen_random_uuid(),
    run_id              uuid not null
                        constraint workflow_stages_run_id_fkey references workflow_runs (id) on delete cascade,
    sequence            integer not null,
    name                text not null,
    approval_type       text not null
                        constraint workflow_stages_approval_type_check check (approval_type in ('all', 'any', 'quorum')),
    is_required         boolean not null,
    -- The stage as defined (approvers, condition, SLA, escalation, reminders).
    spec                jsonb not null,
    state               text not null
                        constraint workflow_stages_state_check check (state in ('waiting', 'active', 'approved', 'rejected', 'skipped', 'voided', 'cancelled')),
    -- Approvals that complete the stage (all: every approver; any: 1; quorum: N).
    required_approvals  integer,
    activated_at        timestamptz,
    due_at              timestamptz,
    overdue_at          timestamptz,
    escalated_at        timestamptz,
    completed_at        timestamptz,
    constraint workflow_stages_sequence_key unique (run_id, sequence)
);

create index workflow_stages_due_idx on workflow_stages (due_at) where state = 'active';

create table approvals (
    id              uuid primary key default gen_random_uuid(),
    stage_id        uuid not null
                    constraint approvals_stage_id_fkey references workflow_stages (id) on delete cascade,
    run_id          uuid not null,
    contract_id     uuid not null,
    approver_id     uuid not null
                    constraint approvals_approver_id_fkey references users (id),
    -- How the approver came to hold it: `team:legal`, `user:cfo@example.com`,
    -- `role:admin`, `delegation`, `out_of_office`, `escalation:executives`.
    assigned_via    text not null,
    -- A delegated approval points at the one it came from: the chain is kept.
    delegated_from  uuid
                    constraint approvals_delegated_from_fkey references approvals (id),
    state           text not null
                    constraint approvals_state_check check (state in ('pending', 'approved', 'rejected', 'delegated', 'reassigned', 'not_needed', 'voided', 'cancelled')),
    reason          text,
    created_at      timestamptz not null,
    decided_at      timestamptz,
    overdue_at      timestamptz
);

create index approvals_approver_idx on approvals (approver_id, state);
create index approvals_stage_idx on approvals (stage_id);
create index approvals_run_idx on approvals (run_id);
create unique index approvals_one_pending_per_user_key on approvals (stage_id, approver_id) where state = 'pending';

-- One tenant-wide setting: what submitting a contract no definition matches does.
create table workflow_settings (
    id         boolean primary key default true
               constraint workflow_settings_single check (id),
    -- `manager_approval`: a manager approves it directly, as before workflows;
    -- `refuse`: the submission is refused.
    unmatched  text not null
               constraint workflow_settings_unmatched_check check (unmatched in ('manager_approval', 'refuse')),
    updated_at timestamptz not null default now()
);

-- A user away names who approves in their place, for a span of time.
create table out_of_office (
    user_id      uuid primary key
                 constraint out_of_office_user_id_fkey references users (id) on delete cascade,
    delegate_id  uuid not null
                 constraint out_of_office_delegate_id_fkey references users (id) on delete cascade,
    starts_at    timestamptz not null,
    ends_at      timestamptz not null,
    note         text not null default '',
    updated_at   timestamptz not null default now(),
    constraint out_of_office_span check (ends_at > starts_at),
    constraint out_of_office_not_self check (delegate_id <> user_id)
);

-- A role held until a time (the workflow seed's user roles with expiry). The acting
-- role is the highest of the user's own and their live grants.
create table role_grants (
    id          uuid primary key default gen_random_uuid(),
    user_id     uuid not null
                constraint role_grants_user_id_fkey references users (id) on delete cascade,
    role        text not null
                constraint role_grants_role_check check (role in ('viewer', 'member', 'manager', 'admin')),
    expires_at  timestamptz not null,
    reason      text not null default '',
    granted_by  uuid,
    granted_at  timestamptz not null,
    -- Set when the grant ends: by its timer at `expires_at`, or revoked early.
    ended_at    timestamptz
);

create index role_grants_live_idx on role_grants (user_id) where ended_at is null;
