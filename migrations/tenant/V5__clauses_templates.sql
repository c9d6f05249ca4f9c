-- The clause library and contract templates.
create table clauses (
    id          uuid primary key default gen_random_uuid(),
    title       text not null
                constraint clauses_title_length check (char_length(title) between 1 and 300),
    category    text not null
                constraint clauses_category_check check (category in
                    ('payment', 'liability', 'confidentiality', 'termination', 'indemnity',
                     'governing_law', 'intellectual_property', 'warranty', 'force_majeure',
                     'data_protection', 'dispute_resolution', 'other')),
    body        text not null
                constraint clauses_body_length check (char_length(body) between 1 and 100000),
    created_by  uuid references users (id) on delete set null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create index clauses_category_idx on clauses (category);
create index clauses_body_trgm_idx on clauses using gin (body public.gin_trgm_ops);

create table contract_clauses (
    contract_id  uuid not null references contracts (id) on delete cascade,
    clause_id    uuid not null references clauses (id) on delete restrict,
    position     integer not null default 0,
    added_at     timestamptz not null default now(),
    primary key (contract_id, clause_id)
);
create index contract_clauses_clause_idx on contract_clauses (clause_id);

create table templates (
    id             uuid primary key default gen_random_uuid(),
    name           text not null
                   constraint templates_name_length check (char_length(name) between 1 and 200),
    contract_type  text not null references contract_types (key),
    -- Placeholders are {{name}}; `variables` is what the body names, kept in sync by
    -- the server when the body is saved.
    body           text not null
                   constraint templates_body_length check (char_length(body) <= 1000000),
    variables      text[] not null default '{}',
    created_by     uuid references users (id) on delete set null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create unique index templates_name_key on templates (lower(name));
