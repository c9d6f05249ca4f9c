-- A contract whose original is kept from some readers also has passages of the
-- redacted copy those readers see in its place, so a search by meaning finds the
-- contract for them by what the copy still says. An original's passages have no
-- redaction; a copy's name it and go with it.
alter table contract_passages add column redaction_id uuid
    constraint contract_passages_redaction_id_fkey references contract_redactions (id) on delete cascade;
