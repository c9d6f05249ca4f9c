-- Running servers cache host -> tenant. Every change to the registry announces itself on
-- the `pactum_registry` channel (payload: the tenant id), whoever made it, so caches can
-- drop the entry within a second instead of waiting for a TTL.
create function public.pactum_notify_registry_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('pactum_registry',
        coalesce(new.tenant_id, old.tenant_id)::text);
    return null;
end;
$$;

create function public.pactum_notify_tenant_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('pactum_registry', coalesce(new.id, old.id)::text);
    return null;
end;
$$;

create trigger tenants_notify after insert or update or delete on public.tenants
    for each row execute function public.pactum_notify_tenant_change();
create trigger domains_notify after insert or update or delete on public.domains
    for each row execute function public.pactum_notify_registry_change();
