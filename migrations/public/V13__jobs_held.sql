-- A paused or inactive tenant's available jobs are set aside as `held` by the runner's
-- maintenance pass, out of the claim index (`state = 'available'`): claims walk the
-- available jobs in claim order, so a paused tenant's backlog ahead of every other
-- tenant's was read by every claim. A held job keeps its place and its unique key, and
-- is available again once its tenant is resumed and active.
alter table public.jobs drop constraint jobs_state_check;
alter table public.jobs add constraint jobs_state_check check (state in ('scheduled', 'available',
    'held', 'running', 'retryable', 'completed', 'cancelled', 'discarded'));
-- A held job still holds its unique key (and is still cancelled by its key's start):
-- both indexes are made again with `held`, under their old names.
create unique index jobs_unique_key_with_held on public.jobs (tenant_id, kind, unique_key)
    where unique_key is not null and state in ('scheduled', 'available', 'held', 'running', 'retryable');
drop index public.jobs_unique_key;
alter index public.jobs_unique_key_with_held rename to jobs_unique_key;
create index jobs_unique_key_prefix_with_held on public.jobs (tenant_id, kind, unique_key text_pattern_ops)
    where unique_key is not null and state in ('scheduled', 'available', 'held', 'retryable');
drop index public.jobs_unique_key_prefix;
alter index public.jobs_unique_key_prefix_with_held rename to jobs_unique_key_prefix;
-- The tenants holding jobs, one probe each, and the tenants whose jobs are held.
create index jobs_held_idx on public.jobs (tenant_id) where state = 'held';
create index tenants_inactive_idx on public.tenants (id) where status <> 'active';
