-- Pre-provisioned tenant schemas, already at the current tenant version and migrated
-- with the fleet. `tenantctl create` claims one (FOR UPDATE SKIP LOCKED) and renames it.
create table public.spare_schemas (
    schema_name     text primary key
                    constraint spare_schemas_name_format check (schema_name ~ '^spare_[0-9a-f]{32}$'),
    schema_version  integer not null,
    created_at      timestamptz not null default now()
);

create index spare_schemas_claim_idx on public.spare_schemas (schema_version, created_at);
