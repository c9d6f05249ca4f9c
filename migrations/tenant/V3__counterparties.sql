-- Counterparties: the organisations (or people) contracts are made with, and the
-- contacts at them.
create table counterparties (
    id          uuid primary key default gen_random_uuid(),
    name        text not null
                constraint counterparties_name_length check (char_length(name) between 1 and 300),
    kind        text not null default 'organisation'
                constraint counterparties_kind_check check (kind in ('organisation', 'individual')),
    email       text constraint counterparties_email_length check (char_length(email) <= 254),
    website     text constraint counterparties_website_length check (char_length(website) <= 500),
    address     text constraint counterparties_address_length check (char_length(address) <= 2000),
    notes       text constraint counterparties_notes_length check (char_length(notes) <= 10000),
    created_by  uuid references users (id) on delete set null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create unique index counterparties_name_key on counterparties (lower(name));

create table contacts (
    id               uuid primary key default gen_random_uuid(),
    counterparty_id  uuid not null references counterparties (id) on delete cascade,
    name             text not null
                     constraint contacts_name_length check (char_length(name) between 1 and 200),
    email            text constraint contacts_email_length check (char_length(email) <= 254),
    phone            text constraint contacts_phone_length check (char_length(phone) <= 50),
    title            text constraint contacts_title_length check (char_length(title) <= 200),
    created_at       timestamptz not null default now()
);
create index contacts_counterparty_idx on contacts (counterparty_id);
