-- List pages sort by (key, id) in one direction, so the tie-breaker must run the same
-- way as the key for an index to serve the order (forwards or backwards): V4's
-- indexes had `created_at desc, id` (mixed), which PostgreSQL cannot walk for either
-- `created_at desc, id desc` or `created_at, id`.
drop index contracts_status_idx;
drop index contracts_type_idx;
drop index contracts_created_idx;
create index contracts_status_created_idx on contracts (status, created_at desc, id desc);
create index contracts_type_created_idx on contracts (contract_type, created_at desc, id desc);
create index contracts_created_idx on contracts (created_at desc, id desc);
create index contracts_updated_idx on contracts (updated_at desc, id desc);
