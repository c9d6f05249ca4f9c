-- Every filter a list offers is served in the list's order by an index that leads
-- with the filter's column. A cached list statement may run a plan made without its
-- values (PostgreSQL's generic plan), which assumes an average share of matches; with
-- the filter's column alone indexed, such a plan reads the list in its order and drops
-- the rows that do not match, so a rare value (30 matches among 3,000) reads them all.
-- Led by the filter and followed by the order, an index reads only the matches, in
-- order, in any plan. Most replace an index of the filter's column alone, which they
-- serve as well.

-- The contracts list reads newest first unless asked otherwise.
drop index contracts_counterparty_idx;
create index contracts_counterparty_idx on contracts (counterparty_id, created_at desc, id desc);
drop index contracts_owner_idx;
create index contracts_owner_idx on contracts (owner_id, created_at desc, id desc);

drop index counterparties_owner_idx;
create index counterparties_owner_idx on counterparties (owner_id, lower(name), id);
drop index counterparties_parent_idx;
create index counterparties_parent_idx on counterparties (parent_id, lower(name), id);

drop index opportunities_owner_idx;
create index opportunities_owner_idx on opportunities (owner_id, lower(name), id);
drop index opportunities_account_idx;
create index opportunities_account_idx on opportunities (account_id, lower(name), id);
-- Beside the board's (stage, amount desc, id).
create index opportunities_stage_list_idx on opportunities (stage, lower(name), id);

-- The list reads newest first by (created_at, id) both descending; an id ascending
-- made it sort.
drop index leads_status_idx;
create index leads_status_idx on leads (status, created_at desc, id desc);
drop index leads_owner_idx;
create index leads_owner_idx on leads (owner_id, created_at desc, id desc);

drop index invoices_account_idx;
create index invoices_account_idx on invoices (account_id, created_at desc, id desc);
drop index invoices_contract_idx;
create index invoices_contract_idx on invoices (contract_id, created_at desc, id desc);
-- Beside (status, due_date), which the sweep for overdue invoices reads.
create index invoices_status_list_idx on invoices (status, created_at desc, id desc);

drop index cases_account_idx;
create index cases_account_idx on cases (account_id, created_at desc, id desc);
drop index cases_contract_idx;
create index cases_contract_idx on cases (contract_id, created_at desc, id desc);
-- Beside (assignee_id, status), which counts an assignee's open cases.
create index cases_assignee_list_idx on cases (assignee_id, created_at desc, id desc);

-- The audit log reads newest first by id.
drop index audit_logs_entity_idx;
create index audit_logs_entity_idx on audit_logs (entity, entity_id, id);
drop index audit_logs_actor_idx;
create index audit_logs_actor_idx on audit_logs (actor_id, id);

-- Tasks read soonest due first, undated last.
drop index tasks_target_idx;
create index tasks_target_idx on tasks (target_kind, target_id, (coalesce(due_at, 'infinity'::timestamptz)), id);

-- Obligation tasks of every status (or one contract's): the status-led index serves
-- one status only, so every page of such a list sorted all of the tenant's tasks.
create index obligation_tasks_order_idx on obligation_tasks (due_date, id);
