-- Tenant users. Runs with search_path set to the tenant schema only, so every name
-- here lands in that schema (and fails loudly if the schema is missing).
-- Roles are text + check, not an enum type: a per-schema enum would give each tenant
-- its own type id and break shared statement caches.
create table users (
    id             uuid primary key default gen_random_uuid(),
    email          text not null
                   constraint users_email_length check (char_length(email) between 3 and 254),
    password_hash  text,
    display_name   text not null
                   constraint users_display_name_length check (char_length(display_name) between 1 and 200),
    role           text not null default 'member'
                   constraint users_role_check check (role in ('admin', 'manager', 'member', 'viewer')),
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

create unique index users_email_key on users (lower(email));
