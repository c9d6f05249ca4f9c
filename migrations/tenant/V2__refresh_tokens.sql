-- Refresh tokens: only their SHA-256 is stored. Each login starts a family; every
-- refresh rotates to a new token of the same family. Presenting a token that was
-- already rotated or revoked revokes the whole family (a stolen token was replayed).
create table refresh_tokens (
    id            uuid primary key default gen_random_uuid(),
    user_id       uuid not null references users (id) on delete cascade,
    family_id     uuid not null,
    token_hash    text not null constraint refresh_tokens_token_hash_key unique,
    expires_at    timestamptz not null,
    revoked_at    timestamptz,
    replaced_by   uuid,
    created_at    timestamptz not null default now()
);

create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);
