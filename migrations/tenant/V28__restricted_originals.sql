-- Once a contract is redacted, its original can be kept from readers below a role:
-- the contract names the redacted copy those readers see in its place (null: every
-- reader reads the original), and the tenant's document settings name the least role
-- that still reads originals (a contract's owner always does). A copy's text is
-- searchable, so a search by such a reader matches the copy, never the original.
alter table contracts add column shown_redaction uuid
    constraint contracts_shown_redaction_fkey references contract_redactions (id);

create index contracts_shown_redaction_idx on contracts (shown_redaction)
    where shown_redaction is not null;

alter table contract_redactions add column search tsvector
    generated always as (to_tsvector('english', body)) stored;

alter table document_settings add column original_role text not null default 'manager'
    constraint document_settings_original_role_check
    check (original_role in ('viewer', 'member', 'manager', 'admin'));
