-- Places held across the whole fleet by running jobs (a webhook destination's
-- deliveries in flight from every process), each until its lease ends: a process that
-- dies leaves its rows to expire rather than hold the place for good. Only the server's
-- group uses it (the job runner's own pool); tenant roles have no grant on it.
create table public.job_places (
    place text not null,
    job_id bigint not null,
    until timestamptz not null,
    primary key (place, job_id)
);
grant select, insert, update, delete on public.job_places to pactum_server;
