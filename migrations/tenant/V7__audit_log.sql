-- Who changed what. Written by the server in the same transaction as the change it
-- describes. Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE for
-- everyone, the server's own role included.
create table audit_logs (
    id           bigint generated always as identity primary key,
    at           timestamptz not null default now(),
    actor_id     uuid,
    action       text not null,
    entity       text not null,
    entity_id    uuid,
    -- {"field": {"old": ..., "new": ...}} for updates; the new state for creates.
    changes      jsonb not null default '{}',
    ip           text,
    user_agent   text,
    request_id   text
);
create index audit_logs_at_idx on audit_logs (at desc, id desc);
create index audit_logs_entity_idx on audit_logs (entity, entity_id);
create index audit_logs_actor_idx on audit_logs (actor_id, at desc);

create function audit_logs_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_logs is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_logs_no_update before update or delete on audit_logs
    for each row execute function audit_logs_refuse_change();
create trigger audit_logs_no_truncate before truncate on audit_logs
    for each statement execute function audit_logs_refuse_change();
