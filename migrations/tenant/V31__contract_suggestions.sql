-- Terms read from a contract's text by rules (parties, dates, term, renewal, value,
-- governing law, payment terms, and the counterparty they name), each with the
-- sentence it came from and a confidence. A suggestion stays `open` until someone
-- accepts it (the contract's fields are filled through the contracts service) or
-- rejects it (never suggested again with the same value); a newer text that no longer
-- says it leaves it `superseded`.
create table contract_suggestions (
    id                uuid primary key,
    contract_id       uuid not null
                      constraint contract_suggestions_contract_id_fkey references contracts (id) on delete cascade,
    attachment_id     uuid
                      constraint contract_suggestions_attachment_id_fkey references attachments (id) on delete cascade,
    field             text not null constraint contract_suggestions_field check (field in (
                          'parties', 'counterparty', 'effective_date', 'end_date', 'term_months', 'auto_renew',
                          'renewal_notice_days', 'value', 'governing_law', 'payment_terms_days')),
    value             jsonb not null,
    passage           text not null,
    start_char        integer not null,
    end_char          integer not null,
    confidence        real not null constraint contract_suggestions_confidence check (confidence between 0 and 1),
    status            text not null constraint contract_suggestions_status check (status in ('open', 'accepted', 'rejected', 'superseded')),
    contract_version  integer not null,
    decided_by        uuid,
    decided_at        timestamptz,
    created_at        timestamptz not null
);

create index contract_suggestions_contract_idx on contract_suggestions (contract_id, status);
