-- The sales pipeline: stages each tenant orders and weighs (a probability, and whether
-- reaching the stage means the deal was won or lost), opportunities on it, and the
-- leads that come before them.
create table pipeline_stages (
    key          text primary key
                 constraint pipeline_stages_key_format check (key ~ '^[a-z][a-z0-9_]{0,49}$'),
    label        text not null
                 constraint pipeline_stages_label_length check (char_length(label) between 1 and 100),
    position     integer not null,
    probability  integer not null
                 constraint pipeline_stages_probability_range check (probability between 0 and 100),
    outcome      text not null default 'open'
                 constraint pipeline_stages_outcome_check check (outcome in ('open', 'won', 'lost'))
);

insert into pipeline_stages (key, label, position, probability, outcome) values
    ('prospecting', 'Prospecting', 1, 10, 'open'),
    ('qualification', 'Qualification', 2, 25, 'open'),
    ('proposal', 'Proposal', 3, 50, 'open'),
    ('negotiation', 'Negotiation', 4, 75, 'open'),
    ('won', 'Won', 5, 100, 'won'),
    ('lost', 'Lost', 6, 0, 'lost');

create table opportunities (
    id                   uuid primary key default gen_random_uuid(),
    name                 text not null
                         constraint opportunities_name_length check (char_length(name) between 1 and 300),
    account_id           uuid not null references counterparties (id) on delete restrict,
    stage                text not null references pipeline_stages (key) on delete restrict,
    amount               numeric not null default 0
                         constraint opportunities_amount_check check (amount >= 0 and amount < 1e14 and scale(amount) <= 4),
    currency             text not null
                         constraint opportunities_currency_format check (currency ~ '^[A-Z]{3}$'),
    expected_close_date  date,
    owner_id             uuid references users (id) on delete set null,
    next_step            text
                         constraint opportunities_next_step_length check (char_length(next_step) <= 500),
    lost_reason          text
                         constraint opportunities_lost_reason_length check (char_length(lost_reason) <= 1000),
    contract_id          uuid references contracts (id) on delete set null,
    closed_at            timestamptz,
    created_by           uuid references users (id) on delete set null,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

create index opportunities_stage_idx on opportunities (stage, amount desc, id);

create index opportunities_account_idx on opportunities (account_id);

create index opportunities_owner_idx on opportunities (owner_id);

create index opportunities_close_idx on opportunities (expected_close_date);

create index opportunities_name_idx on opportunities (lower(name), id);

create table opportunity_contacts (
    opportunity_id  uuid not null references opportunities (id) on delete cascade,
    contact_id      uuid not null references contacts (id) on delete cascade,
    primary key (opportunity_id, contact_id)
);

create index opportunity_contacts_contact_idx on opportunity_contacts (contact_id);

create table leads (
    id              uuid primary key default gen_random_uuid(),
    name            text not null
                    constraint leads_name_length check (char_length(name) between 1 and 200),
    company         text
                    constraint leads_company_length check (char_length(company) <= 300),
    email           text
                    constraint leads_email_length check (char_length(email) <= 254),
    phone           text
                    constraint leads_phone_length check (char_length(phone) <= 50),
    website         text
                    constraint leads_website_length check (char_length(website) <= 500),
    source          text
                    constraint leads_source_length check (char_length(source) <= 50),
    status          text not null default 'new'
                    constraint leads_status_check check (status in ('new', 'contacted', 'qualified', 'lost', 'converted')),
    lost_reason     text
                    constraint leads_lost_reason_length check (char_length(lost_reason) <= 1000),
    owner_id        uuid references users (id) on delete set null,
    score           integer not null default 0
                    constraint leads_score_range check (score between 0 and 100),
    notes           text
                    constraint leads_notes_length check (char_length(notes) <= 10000),
    converted_at    timestamptz,
    account_id      uuid references counterparties (id) on delete set null,
    contact_id      uuid references contacts (id) on delete set null,
    opportunity_id  uuid references opportunities (id) on delete set null,
    created_by      uuid references users (id) on delete set null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint leads_lost_has_reason check (status <> 'lost' or lost_reason is not null),
    constraint leads_converted_when check ((status = 'converted') = (converted_at is not null))
);

create index leads_status_idx on leads (status, created_at desc, id);

create index leads_owner_idx on leads (owner_id);

create index leads_name_idx on leads (lower(name), id);
