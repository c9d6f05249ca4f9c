-- The job queue: one table for every tenant's jobs, so that a worker claims with one
-- indexed query however many tenants there are. Every job belongs to a tenant (the
-- handler gets that tenant's schema, never an ambient one); a tenant's rows go with it.
-- Times compared against "now" are written by the application from its clock, so
-- tests move time instead of sleeping.
create table public.jobs (
    id            bigint generated always as identity primary key,
    tenant_id     uuid not null
                  constraint jobs_tenant_id_fkey references public.tenants (id) on delete cascade,
    kind          text not null
                  constraint jobs_kind_format check (kind ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    queue         text not null default 'default'
                  constraint jobs_queue_format check (queue ~ '^[a-z][a-z0-9_-]{0,49}$'),
    args          jsonb not null default '{}',
    -- 0 runs first, 9 last.
    priority      smallint not null default 0
                  constraint jobs_priority_range check (priority between 0 and 9),
    state         text not null
                  constraint jobs_state_check check (state in ('scheduled', 'available',
                      'running', 'retryable', 'completed', 'cancelled', 'discarded')),
    run_at        timestamptz not null,
    -- Claim order within a priority: a tenant's new job is placed behind that tenant's
    -- own backlog, not behind everyone's, so a tenant with 100,000 jobs delays another
    -- tenant's next job by at most the jobs already running.
    fair_at       timestamptz not null,
    attempt       integer not null default 0,
    max_attempts  integer not null default 20
                  constraint jobs_max_attempts_range check (max_attempts between 1 and 100),
    timeout_ms    integer not null default 60000
                  constraint jobs_timeout_range check (timeout_ms between 1 and 86400000),
    -- [{"attempt": n, "at": "...", "error": "..."}], one per failed attempt.
    errors        jsonb not null default '[]',
    unique_key    text
                  constraint jobs_unique_key_length check (char_length(unique_key) <= 200),
    attempted_by  text,
    attempted_at  timestamptz,
    -- A running job whose lease has passed was abandoned (its worker died) and is
    -- rescued: its timeout plus a grace period.
    lease_until   timestamptz,
    created_at    timestamptz not null,
    finished_at   timestamptz
);

create index jobs_claim_idx on public.jobs (queue, priority, fair_at) where state = 'available';

create index jobs_due_idx on public.jobs (run_at) where state in ('scheduled', 'retryable');

create index jobs_lease_idx on public.jobs (lease_until) where state = 'running';

create index jobs_finished_idx on public.jobs (finished_at)
    where state in ('completed', 'cancelled', 'discarded');

create index jobs_tenant_idx on public.jobs (tenant_id, state, fair_at);

create index jobs_kind_state_idx on public.jobs (kind, state);

-- A unique key suppresses a duplicate while a job with it is pending or running.
create unique index jobs_unique_key on public.jobs (tenant_id, kind, unique_key)
    where unique_key is not null and state in ('scheduled', 'available', 'running', 'retryable');

-- Workers LISTEN here (on a direct session, never a pooled one). Statement level and
-- without payload: PostgreSQL folds identical notifications of one transaction into
-- one, so a batch of 10,000 jobs wakes workers once, at commit.
create function public.pactum_notify_jobs() returns trigger
language plpgsql as $$
begin
    perform pg_notify('pactum_jobs', '');
    return null;
end;
$$;

create trigger jobs_notify after insert on public.jobs
    for each statement execute function public.pactum_notify_jobs();

-- What is paused: everything, one queue, or one tenant. A paused job keeps its place.
create table public.job_pauses (
    id         bigint generated always as identity primary key,
    scope      text not null
               constraint job_pauses_scope_check check (scope in ('all', 'queue', 'tenant')),
    queue      text,
    tenant_id  uuid constraint job_pauses_tenant_id_fkey references public.tenants (id) on delete cascade,
    paused_at  timestamptz not null,
    constraint job_pauses_target check (
        (scope = 'all' and queue is null and tenant_id is null)
        or (scope = 'queue' and queue is not null and tenant_id is null)
        or (scope = 'tenant' and tenant_id is not null and queue is null))
);

create unique index job_pauses_one on public.job_pauses
    (scope, coalesce(queue, ''), coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'));

-- Periodic jobs: a cron expression in a time zone, per tenant. Whichever instance
-- moves next_run_at forward (compare-and-set) enqueues the period's job, whose unique
-- key names the period, so two instances that both think they lead still run it once.
create table public.periodic_jobs (
    id            bigint generated always as identity primary key,
    tenant_id     uuid not null
                  constraint periodic_jobs_tenant_id_fkey references public.tenants (id) on delete cascade,
    name          text not null
                  constraint periodic_jobs_name_format check (name ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    cron          text not null
                  constraint periodic_jobs_cron_length check (char_length(cron) between 1 and 200),
    timezone      text not null default 'UTC',
    kind          text not null,
    queue         text not null default 'default',
    args          jsonb not null default '{}',
    priority      smallint not null default 0,
    max_attempts  integer not null default 5,
    timeout_ms    integer not null default 60000,
    next_run_at   timestamptz not null,
    last_period   timestamptz,
    created_at    timestamptz not null default now(),
    constraint periodic_jobs_name_key unique (tenant_id, name)
);

create index periodic_jobs_due_idx on public.periodic_jobs (next_run_at);
