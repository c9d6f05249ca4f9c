-- The audit log is the tenant's event stream (the transactional outbox): each row is
-- written in its change's transaction, so an event never exists without its change.
-- The type (`contract.created`, `contract.status_changed`) is derived from entity and
-- action, so older rows have one too and nothing writes it twice.
alter table audit_logs
    add column event_type text generated always as (
        entity || '.' || case action
            when 'create' then 'created'
            when 'update' then 'updated'
            when 'delete' then 'deleted'
            when 'transition' then 'status_changed'
            when 'attach_clause' then 'clause_attached'
            when 'detach_clause' then 'clause_detached'
            when 'generate' then 'generated'
            when 'change_password' then 'password_changed'
            else action
        end) stored;

create index audit_logs_event_type_idx on audit_logs (event_type, id);

-- Endpoints that receive events (Standard Webhooks). `event_types` holds exact types,
-- `<entity>.*` or `*`.
create table webhook_endpoints (
    id                    uuid primary key default gen_random_uuid(),
    url                   text not null
                          constraint webhook_endpoints_url_length check (char_length(url) between 1 and 2000),
    description           text not null default ''
                          constraint webhook_endpoints_description_length check (char_length(description) <= 500),
    event_types           text[] not null
                          constraint webhook_endpoints_event_types_count check (cardinality(event_types) between 1 and 50),
    secret                text not null,
    enabled               boolean not null default true,
    disabled_reason       text,
    consecutive_failures  integer not null default 0,
    created_by            uuid,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    version               integer not null default 1
);

create index webhook_endpoints_enabled_idx on webhook_endpoints (enabled) where enabled;

-- Every attempt to deliver, successful or not.
create table webhook_deliveries (
    id               bigint generated always as identity primary key,
    endpoint_id      uuid not null
                     constraint webhook_deliveries_endpoint_id_fkey references webhook_endpoints (id) on delete cascade,
    event_id         bigint,
    event_type       text not null,
    message_id       text not null,
    attempt          integer not null,
    outcome          text not null
                     constraint webhook_deliveries_outcome_check check (outcome in ('delivered', 'failed', 'refused')),
    response_status  integer,
    response_body    text,
    error            text,
    duration_ms      integer not null,
    at               timestamptz not null default now()
);

create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, id desc);
