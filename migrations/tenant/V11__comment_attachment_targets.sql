-- Comments and attachments point at a (kind, id) pair instead of a contract, so that
-- any area (tasks, invoices, leads) can use them. The owning area removes what hangs
-- off a record when it deletes the record; no foreign key can span kinds.
alter table comments
    add column target_kind text not null default 'contract'
        constraint comments_target_kind_check check (target_kind ~ '^[a-z][a-z_]{0,39}$'),
    add column target_id uuid;
update comments set target_id = contract_id;
alter table comments
    alter column target_id set not null,
    alter column target_kind drop default,
    drop column contract_id;
create index comments_target_idx on comments (target_kind, target_id, created_at, id);

alter table attachments
    add column target_kind text not null default 'contract'
        constraint attachments_target_kind_check check (target_kind ~ '^[a-z][a-z_]{0,39}$'),
    add column target_id uuid;
update attachments set target_id = contract_id;
alter table attachments
    alter column target_id set not null,
    alter column target_kind drop default,
    drop column contract_id;
create index attachments_target_idx on attachments (target_kind, target_id, created_at, id);
