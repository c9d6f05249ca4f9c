-- Notification delivery (issue 14): preferences, email and chat deliveries, digests,
-- stream tickets. The inbox itself is V17.

-- A user's own choices. `channels` is {"in_app"|"email"|"chat": {"*"|<type>: bool}};
-- what a user leaves unset falls back to the tenant defaults, then to the built-in ones.
create table notification_settings (
    user_id           uuid primary key
                      constraint notification_settings_user_id_fkey references users (id) on delete cascade,
    time_zone         text,
    quiet_start       time,
    quiet_end         time,
    digest            text
                      constraint notification_settings_digest_check check (digest in ('off', 'hourly', 'daily')),
    chat_webhook_url  text
                      constraint notification_settings_chat_url_length check (char_length(chat_webhook_url) <= 2000),
    channels          jsonb not null default '{}'
                      constraint notification_settings_channels_object check (jsonb_typeof(channels) = 'object'),
    updated_at        timestamptz not null default now(),
    constraint notification_settings_quiet_both check ((quiet_start is null) = (quiet_end is null))
);

-- The tenant's defaults (one row at most; absent: built-in defaults).
create table notification_defaults (
    id                        boolean primary key default true
                              constraint notification_defaults_single check (id),
    time_zone                 text,
    digest                    text not null default 'off'
                              constraint notification_defaults_digest_check check (digest in ('off', 'hourly', 'daily')),
    channels                  jsonb not null default '{}'
                              constraint notification_defaults_channels_object check (jsonb_typeof(channels) = 'object'),
    -- Days before a contract's end date its owner is reminded.
    reminder_days             integer[] not null default '{90,60,30}'
                              constraint notification_defaults_reminder_days check (cardinality(reminder_days) <= 10),
    -- Days before the renewal-notice date its owner is reminded.
    renewal_notice_lead_days  integer not null default 14
                              constraint notification_defaults_lead_days check (renewal_notice_lead_days between 0 and 365),
    brand_name                text
                              constraint notification_defaults_brand_name_length check (char_length(brand_name) <= 200),
    brand_color               text
                              constraint notification_defaults_brand_color check (brand_color ~ '^#[0-9a-fA-F]{6}$'),
    updated_at                timestamptz not null default now()
);

-- One notification sent on one channel (email, chat): made with the notification, sent
-- by a job. `message_id` is fixed when the row is made, so every retry sends the same
-- message. `digest_at`: the end of the digest window it waits for.
create table notification_deliveries (
    id               bigint generated always as identity primary key,
    notification_id  bigint not null
                     constraint notification_deliveries_notification_id_fkey references notifications (id) on delete cascade,
    recipient_id     uuid not null,
    channel          text not null
                     constraint notification_deliveries_channel_check check (channel in ('email', 'chat')),
    state            text not null
                     constraint notification_deliveries_state_check check (state in ('pending', 'digest', 'sent', 'failed', 'skipped')),
    send_after       timestamptz not null,
    digest_at        timestamptz,
    message_id       text not null,
    attempts         integer not null default 0,
    last_error       text,
    sent_at          timestamptz,
    created_at       timestamptz not null default now(),
    constraint notification_deliveries_notification_channel_key unique (notification_id, channel)
);

create index notification_deliveries_digest_idx on notification_deliveries (recipient_id, digest_at) where state = 'digest';

-- Single-use, short-lived tickets that let a browser's EventSource (which cannot send
-- an Authorization header) open the notification stream. Only a hash is kept.
create table notification_stream_tickets (
    ticket_hash  text primary key,
    user_id      uuid not null
                 constraint notification_stream_tickets_user_id_fkey references users (id) on delete cascade,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    created_at   timestamptz not null default now()
);

create index notification_stream_tickets_expiry_idx on notification_stream_tickets (expires_at);
