-- The list most screens show first: one status and one type, newest first. With this
-- index the page is read in order, 50 rows for 50 results, instead of walking
-- (created_at) or (status, created_at) and filtering out the other types.
create index contracts_status_type_created_idx on contracts (status, contract_type, created_at desc, id desc);
