-- Timers are cancelled by the start of their unique key (`reminder:<contract>:` takes
-- every reminder of a contract). Keys in byte order let each start be found as a range
-- of this index, whatever the database's collation, where the unique index only found
-- the tenant's pending jobs of the kind and read them all, once per start under a
-- cached statement's generic plan.
create index jobs_unique_key_prefix on public.jobs (tenant_id, kind, unique_key text_pattern_ops)
    where unique_key is not null and state in ('scheduled', 'available', 'retryable');
