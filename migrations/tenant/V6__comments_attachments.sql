-- Discussion on contracts, and the files attached to them (bytes live on disk, under
-- the tenant's own folder; this table is the only way to name them).
create table comments (
    id           uuid primary key default gen_random_uuid(),
    contract_id  uuid not null references contracts (id) on delete cascade,
    author_id    uuid references users (id) on delete set null,
    body         text not null
                 constraint comments_body_length check (char_length(body) between 1 and 20000),
    -- Users named with @email in the body, for notifications.
    mentions     uuid[] not null default '{}',
    created_at   timestamptz not null default now()
);
create index comments_contract_idx on comments (contract_id, created_at);

create table attachments (
    id            uuid primary key default gen_random_uuid(),
    contract_id   uuid not null references contracts (id) on delete cascade,
    filename      text not null
                  constraint attachments_filename_length check (char_length(filename) between 1 and 255),
    content_type  text not null,
    size_bytes    bigint not null constraint attachments_size_check check (size_bytes >= 0),
    sha256        text not null,
    uploaded_by   uuid references users (id) on delete set null,
    created_at    timestamptz not null default now()
);
create index attachments_contract_idx on attachments (contract_id, created_at);
