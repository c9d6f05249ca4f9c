-- The tenant registry. One row per customer organisation; its data lives in the
-- schema named here. Status is text + check (not an enum type) so that statement
-- caches stay valid across schemas.
create table public.tenants (
    id              uuid primary key default gen_random_uuid(),
    slug            text not null
                    constraint tenants_slug_key unique
                    constraint tenants_slug_format check (slug ~ '^[a-z][a-z0-9_]{0,60}$'),
    name            text not null
                    constraint tenants_name_length check (char_length(name) between 1 and 200),
    schema_name     text not null
                    constraint tenants_schema_name_key unique
                    constraint tenants_schema_name_format check (schema_name = 't_' || slug),
    status          text not null default 'provisioning'
                    constraint tenants_status_check
                    check (status in ('provisioning', 'active', 'suspended', 'deleting')),
    schema_version  integer not null default 0,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

-- The fleet migrator finds the tenants behind with one indexed query.
create index tenants_schema_version_idx on public.tenants (schema_version);
