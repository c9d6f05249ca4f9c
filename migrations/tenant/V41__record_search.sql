-- One search across the CRM's records and the contracts' titles: trigram indexes make
-- a case-blind substring match (`lower(x) like '%q%'`) an index scan.
create index counterparties_name_trgm_idx on counterparties using gin (lower(name) public.gin_trgm_ops);

create index contacts_name_trgm_idx on contacts using gin (lower(name) public.gin_trgm_ops);

create index leads_name_trgm_idx on leads using gin (lower(name || ' ' || coalesce(company, '') || ' ' || coalesce(email, '')) public.gin_trgm_ops);

create index opportunities_name_trgm_idx on opportunities using gin (lower(name) public.gin_trgm_ops);

create index invoices_number_trgm_idx on invoices using gin (lower(number) public.gin_trgm_ops);

create index contracts_title_trgm_idx on contracts using gin (lower(title) public.gin_trgm_ops);
