-- Work on any record: tasks for someone to do (with a due time, a priority and a
-- reminder) and a log of what was done (calls, meetings, emails, notes). Both hang off
-- a record by (target_kind, target_id), as comments do; the record's own area deletes
-- nothing here: the activities area answers its `deleted` event.
create table tasks (
    id           uuid primary key default gen_random_uuid(),
    target_kind  text not null
                 constraint tasks_target_kind_format check (target_kind ~ '^[a-z_]{1,40}$'),
    target_id    uuid not null,
    title        text not null
                 constraint tasks_title_length check (char_length(title) between 1 and 300),
    notes        text
                 constraint tasks_notes_length check (char_length(notes) <= 10000),
    assignee_id  uuid references users (id) on delete set null,
    due_at       timestamptz,
    remind_at    timestamptz,
    priority     text not null default 'normal'
                 constraint tasks_priority_check check (priority in ('low', 'normal', 'high', 'urgent')),
    status       text not null default 'open'
                 constraint tasks_status_check check (status in ('open', 'in_progress', 'done', 'cancelled')),
    completed_at timestamptz,
    created_by   uuid references users (id) on delete set null,
    created_at   timestamptz not null,
    updated_at   timestamptz not null
);

create index tasks_target_idx on tasks (target_kind, target_id, id);

create index tasks_assignee_due_idx on tasks (assignee_id, (coalesce(due_at, 'infinity'::timestamptz)), id);

create index tasks_due_idx on tasks ((coalesce(due_at, 'infinity'::timestamptz)), id);

create table activities (
    id               uuid primary key default gen_random_uuid(),
    target_kind      text not null
                     constraint activities_target_kind_format check (target_kind ~ '^[a-z_]{1,40}$'),
    target_id        uuid not null,
    kind             text not null
                     constraint activities_kind_check check (kind in ('call', 'meeting', 'email', 'note')),
    subject          text not null
                     constraint activities_subject_length check (char_length(subject) between 1 and 300),
    body             text
                     constraint activities_body_length check (char_length(body) <= 20000),
    occurred_at      timestamptz not null,
    duration_minutes integer
                     constraint activities_duration_range check (duration_minutes between 0 and 10080),
    contact_ids      uuid[] not null default '{}'
                     constraint activities_contact_ids_count check (cardinality(contact_ids) <= 20),
    author_id        uuid references users (id) on delete set null,
    created_at       timestamptz not null
);

create index activities_target_idx on activities (target_kind, target_id, occurred_at desc, id desc);
