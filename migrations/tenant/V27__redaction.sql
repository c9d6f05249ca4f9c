-- Redaction: the tenant's own patterns of sensitive text (beside the built-in kinds),
-- and the redacted copies of contracts. A copy keeps the redacted text and where each
-- redaction was and of what kind, never the text that was removed.
create table redaction_patterns (
    id          uuid primary key default gen_random_uuid(),
    name        text not null
                constraint redaction_patterns_name_length check (char_length(name) between 1 and 100),
    pattern     text not null
                constraint redaction_patterns_pattern_length check (char_length(pattern) between 1 and 500),
    created_at  timestamptz not null
);

create unique index redaction_patterns_name_key on redaction_patterns (lower(name));

create table contract_redactions (
    id                uuid primary key default gen_random_uuid(),
    contract_id       uuid not null
                      constraint contract_redactions_contract_id_fkey references contracts (id) on delete cascade,
    contract_version  integer not null,
    body              text not null,
    redacted          jsonb not null constraint contract_redactions_redacted_array check (jsonb_typeof(redacted) = 'array'),
    kept              integer not null constraint contract_redactions_kept_check check (kept >= 0),
    created_by        uuid constraint contract_redactions_created_by_fkey references users (id) on delete set null,
    created_at        timestamptz not null
);

create index contract_redactions_contract_idx on contract_redactions (contract_id, created_at, id);
