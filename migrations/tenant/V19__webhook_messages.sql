-- One event for one endpoint: a message, in Standard Webhooks' terms. Written with the
-- event (in its transaction) for every endpoint that wants it, enabled or not, so an
-- endpoint that is disabled or failing never loses one: a disabled endpoint's messages
-- wait as `pending` and are sent when it is enabled again, and a message whose
-- retries ran out (`failed`) can be sent again with the recover API.
create table webhook_messages (
    endpoint_id      uuid not null
                     constraint webhook_messages_endpoint_id_fkey references webhook_endpoints (id) on delete cascade,
    event_id         bigint not null,
    state            text not null default 'pending'
                     constraint webhook_messages_state_check check (state in ('pending', 'delivered', 'failed')),
    attempts         integer not null default 0,
    created_at       timestamptz not null,
    last_attempt_at  timestamptz,
    next_attempt_at  timestamptz,
    delivered_at     timestamptz,
    constraint webhook_messages_pkey primary key (endpoint_id, event_id)
);

create index webhook_messages_undelivered_idx on webhook_messages (endpoint_id, created_at)
    where state <> 'delivered';

-- An endpoint's health. `failing_since`: the first failure after its last success;
-- an endpoint is disabled when failures have lasted the operator's period (days),
-- never after a count of attempts.
alter table webhook_endpoints add column failing_since timestamptz;

alter table webhook_endpoints add column last_delivered_at timestamptz;

alter table webhook_endpoints add column last_failed_at timestamptz;
