-- Contracts, their types (extensible per tenant) and the versions of their text.
create table contract_types (
    key          text primary key
                 constraint contract_types_key_check check (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label        text not null
                 constraint contract_types_label_length check (char_length(label) between 1 and 100),
    -- Clause categories a contract of this type must carry (validate-clauses).
    required_clause_categories text[] not null default '{}',
    builtin      boolean not null default false
);
insert into contract_types (key, label, required_clause_categories, builtin) values
    ('msa', 'Master services agreement', '{payment,liability,termination,governing_law}', true),
    ('nda', 'Non-disclosure agreement', '{confidentiality,governing_law}', true),
    ('sow', 'Statement of work', '{payment}', true),
    ('dpa', 'Data processing agreement', '{confidentiality,liability}', true),
    ('lease', 'Lease', '{payment,termination}', true),
    ('employment', 'Employment contract', '{confidentiality,termination}', true),
    ('purchase_order', 'Purchase order', '{payment}', true),
    ('other', 'Other', '{}', true);

create table contracts (
    id                   uuid primary key default gen_random_uuid(),
    title                text not null
                         constraint contracts_title_length check (char_length(title) between 1 and 500),
    contract_type        text not null references contract_types (key),
    status               text not null default 'draft'
                         constraint contracts_status_check check (status in
                             ('draft', 'in_review', 'approved', 'rejected', 'executed', 'expired', 'terminated')),
    -- Exact decimal, kept at the scale it was given ("1250.50" stays so); never a
    -- float anywhere on its way.
    value                numeric
                         constraint contracts_value_check check (value >= 0 and value < 1e14 and scale(value) <= 4),
    currency             text
                         constraint contracts_currency_check check (currency ~ '^[A-Z]{3}$'),
    counterparty_id      uuid references counterparties (id) on delete restrict,
    owner_id             uuid not null references users (id),
    start_date           date,
    end_date             date,
    auto_renew           boolean not null default false,
    renewal_notice_days  integer
                         constraint contracts_notice_check check (renewal_notice_days between 0 and 3650),
    tags                 text[] not null default '{}'
                         constraint contracts_tags_count check (cardinality(tags) <= 50),
    metadata             jsonb not null default '{}'
                         constraint contracts_metadata_object check (jsonb_typeof(metadata) = 'object'),
    body                 text not null default ''
                         constraint contracts_body_length check (char_length(body) <= 1000000),
    version              integer not null default 1,
    search               tsvector generated always as (
                             setweight(to_tsvector('english', title), 'A') ||
                             setweight(to_tsvector('english', body), 'B')) stored,
    created_by           uuid references users (id) on delete set null,
    created_at           timestamptz not null default now(),
    updated_by           uuid references users (id) on delete set null,
    updated_at           timestamptz not null default now(),
    constraint contracts_value_currency check ((value is null) = (currency is null)),
    constraint contracts_dates_order check (end_date is null or start_date is null or end_date >= start_date)
);
create index contracts_status_idx on contracts (status, created_at desc, id);
create index contracts_type_idx on contracts (contract_type, created_at desc, id);
create index contracts_counterparty_idx on contracts (counterparty_id);
create index contracts_owner_idx on contracts (owner_id);
create index contracts_end_date_idx on contracts (end_date);
create index contracts_created_idx on contracts (created_at desc, id);
create index contracts_tags_idx on contracts using gin (tags);
create index contracts_search_idx on contracts using gin (search);

-- Every text a contract has had: version n is the body as of contract version n.
create table contract_versions (
    contract_id  uuid not null references contracts (id) on delete cascade,
    version      integer not null,
    title        text not null,
    body         text not null,
    created_by   uuid references users (id) on delete set null,
    created_at   timestamptz not null default now(),
    primary key (contract_id, version)
);
