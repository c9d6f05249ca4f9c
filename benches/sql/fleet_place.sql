-- One webhook delivery's hold of its destination across the fleet and its release, as
-- crates/kernel/src/jobs/places.rs sends them (FLEET_PLACE_* in jobs/sql.rs), for
-- pgbench: `scripts/bench-jobs.sh` with BENCH_PARTS=places.
\set job random(1, 1000000000)
begin;
select pg_advisory_xact_lock(hashtextextended('webhook destination https://hooks.example:443', 16));
delete from public.job_places where place = 'webhook destination https://hooks.example:443' and until < now();
insert into public.job_places (place, job_id, until) select 'webhook destination https://hooks.example:443', :job, now() + interval '60 s' where (select count(*) from public.job_places where place = 'webhook destination https://hooks.example:443' and job_id <> :job) < 1000 on conflict (place, job_id) do update set until = excluded.until returning job_id;
commit;
delete from public.job_places where place = 'webhook destination https://hooks.example:443' and job_id = :job;
select pg_notify('pactum_jobs', 'place freed');
