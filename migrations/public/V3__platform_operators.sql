-- People who run the platform itself. Tenant users live in their tenant's schema.
create table public.platform_operators (
    id             uuid primary key default gen_random_uuid(),
    email          text not null,
    password_hash  text not null,
    display_name   text not null,
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

create unique index platform_operators_email_key on public.platform_operators (lower(email));
