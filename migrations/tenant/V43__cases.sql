-- Support cases on an account or a contract, with two SLA clocks counted in the
-- tenant's business calendar: the first response and the resolution. Each priority
-- has its policy (hours for each clock, and the team a breach escalates to); a case
-- keeps the deadlines it was given, when each was met, and when each was breached.
create table case_sla_policies (
    priority              text primary key
                          constraint case_sla_policies_priority_check check (priority in ('low', 'normal', 'high', 'urgent')),
    first_response_hours  numeric not null
                          constraint case_sla_policies_first_response_range check (first_response_hours > 0 and first_response_hours <= 8760),
    resolution_hours      numeric not null
                          constraint case_sla_policies_resolution_range check (resolution_hours > 0 and resolution_hours <= 8760),
    escalate_to_team      text
                          constraint case_sla_policies_team_format check (escalate_to_team ~ '^[a-z][a-z0-9_-]{0,49}$')
);

insert into case_sla_policies (priority, first_response_hours, resolution_hours) values
    ('urgent', 1, 8),
    ('high', 4, 24),
    ('normal', 8, 40),
    ('low', 24, 80);

create table cases (
    id                          uuid primary key default gen_random_uuid(),
    number                      bigint generated always as identity
                                constraint cases_number_key unique,
    subject                     text not null
                                constraint cases_subject_length check (char_length(subject) between 1 and 300),
    description                 text
                                constraint cases_description_length check (char_length(description) <= 20000),
    account_id                  uuid references counterparties (id) on delete restrict,
    contract_id                 uuid references contracts (id) on delete set null,
    contact_id                  uuid references contacts (id) on delete set null,
    priority                    text not null
                                constraint cases_priority_check check (priority in ('low', 'normal', 'high', 'urgent')),
    status                      text not null default 'new'
                                constraint cases_status_check check (status in ('new', 'open', 'pending', 'resolved', 'closed')),
    assignee_id                 uuid references users (id) on delete set null,
    first_response_due_at       timestamptz not null,
    first_responded_at          timestamptz,
    first_response_breached_at  timestamptz,
    resolution_due_at           timestamptz not null,
    resolved_at                 timestamptz,
    resolution_breached_at      timestamptz,
    escalated_at                timestamptz,
    created_by                  uuid references users (id) on delete set null,
    created_at                  timestamptz not null,
    updated_at                  timestamptz not null,
    constraint cases_on_something check (account_id is not null or contract_id is not null)
);

create index cases_list_idx on cases (created_at desc, id desc);

create index cases_account_idx on cases (account_id);

create index cases_contract_idx on cases (contract_id);

create index cases_assignee_idx on cases (assignee_id, status);

create index cases_open_idx on cases (status, priority);
