-- The in-app inbox (issue 14). Notifications are made from events by the notifier
-- job, never by the area that acted; one event gives each recipient a notification of
-- a type once, however often the job runs (the unique key).
create table notifications (
    id            bigint generated always as identity primary key,
    recipient_id  uuid not null
                  constraint notifications_recipient_id_fkey references users (id) on delete cascade,
    type          text not null,
    title         text not null,
    body          text not null default '',
    entity        text,
    entity_id     uuid,
    link          text,
    metadata      jsonb not null default '{}',
    event_id      bigint not null,
    created_at    timestamptz not null default now(),
    seen_at       timestamptz,
    read_at       timestamptz,
    archived_at   timestamptz,
    constraint notifications_event_recipient_type_key unique (event_id, recipient_id, type)
);

create index notifications_inbox_idx on notifications (recipient_id, id desc) where archived_at is null;
create index notifications_unread_idx on notifications (recipient_id) where read_at is null and archived_at is null;
