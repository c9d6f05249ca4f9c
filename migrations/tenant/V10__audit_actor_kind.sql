-- Who acted: a user (actor_id set) or Pactum itself (a job, a timer, an event
-- reaction; actor_id null). One statement, so it stays one DDL message on Citus.
alter table audit_logs
    add column actor_kind text not null default 'user'
        constraint audit_logs_actor_kind_check check (actor_kind in ('user', 'system'));
