-- Approvals in the order they are listed, newest first: everyone's (for managers),
-- an approver's own, and a contract's. Without them every page sorted all of the
-- matching approvals, and reading the list to its end cost the square of its length.
create index approvals_list_idx on approvals (created_at desc, id desc);
create index approvals_approver_list_idx on approvals (approver_id, created_at desc, id desc);
create index approvals_contract_idx on approvals (contract_id, created_at desc, id desc);
