-- A PostgreSQL role per tenant schema (see crates/tenancy/src/roles.rs). Role names are
-- cluster-wide, so the two groups are made only where missing: several databases of one
-- cluster (a test run, staging beside production) share them.
alter table public.tenants add column role_name text;
alter table public.spare_schemas add column role_name text;
create unique index tenants_role_name_key on public.tenants (role_name);
create unique index spare_schemas_role_name_key on public.spare_schemas (role_name);
do $$ begin create role pactum_tenant nologin; exception when duplicate_object or unique_violation then null; end $$;
-- noinherit: a login role in this group may become any tenant's role, but holds none of
-- their privileges until it does.
do $$ begin create role pactum_server nologin noinherit; exception when duplicate_object or unique_violation then null; end $$;
-- The role migrating may also be the one the server connects as (a managed database's
-- main user is often both, and not a superuser): it must be able to become tenants.
do $$ begin if not (select rolsuper from pg_roles where rolname = current_user) then execute format('grant pactum_server to %I', current_user); end if; exception when unique_violation then null; when insufficient_privilege then raise warning 'could not make % a member of pactum_server: a server connecting as it cannot become tenant roles', current_user; end $$;
grant select, insert, update, delete on all tables in schema public to pactum_server;
grant usage, select, update on all sequences in schema public to pactum_server;
alter default privileges in schema public grant select, insert, update, delete on tables to pactum_server;
alter default privileges in schema public grant usage, select, update on sequences to pactum_server;
-- What a unit of work does in public: enqueue and cancel its tenant's jobs, define its
-- periodic jobs, read its own registry row and domain. Row security keeps each tenant
-- role to its own rows; the server's group sees all (the job runner works for every
-- tenant), and the tables' owner is not bound by it.
grant select on public.tenants, public.domains to pactum_tenant;
grant select, insert, update, delete on public.jobs, public.periodic_jobs to pactum_tenant;
alter table public.tenants enable row level security;
alter table public.domains enable row level security;
alter table public.jobs enable row level security;
alter table public.periodic_jobs enable row level security;
create policy tenants_own_row on public.tenants to pactum_tenant using (role_name = current_user);
create policy tenants_for_the_server on public.tenants to pactum_server using (true);
create policy domains_own_rows on public.domains to pactum_tenant using (tenant_id = (select id from public.tenants where role_name = current_user));
create policy domains_for_the_server on public.domains to pactum_server using (true);
create policy jobs_own_rows on public.jobs to pactum_tenant using (tenant_id = (select id from public.tenants where role_name = current_user));
create policy jobs_for_the_server on public.jobs to pactum_server using (true);
create policy periodic_jobs_own_rows on public.periodic_jobs to pactum_tenant using (tenant_id = (select id from public.tenants where role_name = current_user));
create policy periodic_jobs_for_the_server on public.periodic_jobs to pactum_server using (true);
