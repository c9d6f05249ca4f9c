-- Obligations with a date, as tasks: every new text of a contract is read for the
-- sentences that bind a party, and each that states a date ("by March 1, 2027") or a
-- period from the effective date ("within 30 days of the Effective Date", with the
-- contract's start date known) is kept as a task for someone to do, assigned to the
-- contract's owner at first. `obligation_key` tells the same obligation apart across versions
-- (its file, party and action, normalised); a task the new text no longer states is
-- `superseded`, one a person closed stays `done` or `dismissed`. `due_source` says
-- where the date came from: `text`, `effective_date`, or `person` (set by hand, never
-- recomputed).
create table obligation_tasks (
    id             uuid primary key,
    contract_id    uuid not null
                   constraint obligation_tasks_contract_id_fkey references contracts (id) on delete cascade,
    attachment_id  uuid
                   constraint obligation_tasks_attachment_id_fkey references attachments (id) on delete cascade,
    obligation_key text not null,
    party          text not null,
    action         text not null,
    prohibition    boolean not null,
    passage        text not null,
    start_char     integer not null,
    end_char       integer not null,
    due_date       date not null,
    due_source     text not null constraint obligation_tasks_due_source check (due_source in ('text', 'effective_date', 'person')),
    status         text not null constraint obligation_tasks_status check (status in ('open', 'done', 'dismissed', 'superseded')),
    assignee_id    uuid,
    decided_by     uuid,
    decided_at     timestamptz,
    created_at     timestamptz not null,
    constraint obligation_tasks_contract_key unique (contract_id, obligation_key)
);

create index obligation_tasks_due_idx on obligation_tasks (status, due_date, id);

-- Days before an obligation task's due date its assignee is reminded (0: on the day).
alter table notification_defaults add column obligation_reminder_days integer[] not null default '{7,0}'
    constraint notification_defaults_obligation_reminder_days check (cardinality(obligation_reminder_days) <= 10);
