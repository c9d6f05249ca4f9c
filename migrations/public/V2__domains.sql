-- Hosts that route to a tenant. A tenant has at most one primary host.
create table public.domains (
    id          uuid primary key default gen_random_uuid(),
    host        text not null
                constraint domains_host_key unique
                constraint domains_host_format
                check (host ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$'
                       and char_length(host) <= 253),
    tenant_id   uuid not null references public.tenants (id) on delete cascade,
    is_primary  boolean not null default false,
    created_at  timestamptz not null default now()
);

create index domains_tenant_id_idx on public.domains (tenant_id);
create unique index domains_one_primary_per_tenant
    on public.domains (tenant_id) where is_primary;
