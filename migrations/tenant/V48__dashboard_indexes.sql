-- The win rate and the contract value by account read every closed deal and every
-- approved or executed contract: partial indexes carrying the columns they sum let
-- PostgreSQL answer from the index alone (an index-only scan over the rows that count,
-- instead of a scan of the whole table and its wide contract rows).
create index opportunities_closed_idx on opportunities (closed_at)
    include (stage, owner_id, currency, amount) where closed_at is not null;

create index contracts_account_value_idx on contracts (counterparty_id, currency)
    include (value) where status in ('approved', 'executed') and value is not null;
