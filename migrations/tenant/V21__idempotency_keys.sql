-- Idempotency keys of POST requests, per user: recorded by the transaction that makes
-- the request's change (so a key exists exactly when its change does), with the answer
-- stored once the request is done, kept 24 hours.
create table idempotency_keys (
    owner_id      uuid not null,
    key           text not null
                  constraint idempotency_keys_key_length check (octet_length(key) between 1 and 255),
    request_hash  text not null,
    request_id    uuid not null,
    status        integer,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz not null,
    expires_at    timestamptz not null,
    constraint idempotency_keys_pkey primary key (owner_id, key)
);

create index idempotency_keys_expires_idx on idempotency_keys (expires_at);
