-- Invoices to accounts, usually for a contract. Numbers come from a counter per
-- period, taken in the creating transaction: a creation that rolls back gives its
-- number back, so the sequence has no gaps, and the counter row's lock makes
-- concurrent creators take turns, so it has no duplicates. A void invoice keeps its
-- number. Amounts are numeric, computed by PostgreSQL, never floats.
create table invoice_settings (
    id                  boolean primary key default true
                        constraint invoice_settings_single_row check (id),
    number_format       text not null default 'INV-{YYYY}-{NNNN}'
                        constraint invoice_settings_format_length check (char_length(number_format) between 1 and 50),
    payment_terms_days  integer not null default 30
                        constraint invoice_settings_terms_range check (payment_terms_days between 0 and 365),
    reminder_days       integer not null default 3
                        constraint invoice_settings_reminder_range check (reminder_days between 0 and 60)
);

insert into invoice_settings (id) values (true);

create table invoice_counters (
    period       text primary key,
    last_number  integer not null
);

create table invoices (
    id              uuid primary key default gen_random_uuid(),
    number          text not null,
    account_id      uuid not null references counterparties (id) on delete restrict,
    contract_id     uuid references contracts (id) on delete set null,
    currency        text not null
                    constraint invoices_currency_format check (currency ~ '^[A-Z]{3}$'),
    status          text not null default 'draft'
                    constraint invoices_status_check check (status in ('draft', 'sent', 'partly_paid', 'paid', 'overdue', 'void')),
    issue_date      date not null,
    due_date        date not null,
    subtotal        numeric not null default 0,
    discount_total  numeric not null default 0,
    tax_total       numeric not null default 0,
    total           numeric not null default 0,
    paid            numeric not null default 0,
    notes           text
                    constraint invoices_notes_length check (char_length(notes) <= 5000),
    void_reason     text
                    constraint invoices_void_reason_length check (char_length(void_reason) <= 1000),
    sent_at         timestamptz,
    paid_at         timestamptz,
    voided_at       timestamptz,
    created_by      uuid references users (id) on delete set null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint invoices_due_after_issue check (due_date >= issue_date)
);

create unique index invoices_number_key on invoices (number);

create index invoices_status_due_idx on invoices (status, due_date);

create index invoices_account_idx on invoices (account_id);

create index invoices_contract_idx on invoices (contract_id);

create index invoices_created_idx on invoices (created_at desc, id desc);

-- Each line's amounts follow from its quantity, price, discount and tax rate, rounded
-- to cents half away from zero, by PostgreSQL itself.
create table invoice_lines (
    invoice_id        uuid not null references invoices (id) on delete cascade,
    position          integer not null,
    description       text not null
                      constraint invoice_lines_description_length check (char_length(description) between 1 and 1000),
    quantity          numeric not null
                      constraint invoice_lines_quantity_check check (quantity > 0 and quantity < 1e9 and scale(quantity) <= 4),
    unit_price        numeric not null
                      constraint invoice_lines_price_check check (unit_price >= 0 and unit_price < 1e12 and scale(unit_price) <= 4),
    discount_percent  numeric not null default 0
                      constraint invoice_lines_discount_check check (discount_percent >= 0 and discount_percent <= 100 and scale(discount_percent) <= 2),
    tax_rate          numeric not null default 0
                      constraint invoice_lines_tax_check check (tax_rate >= 0 and tax_rate <= 100 and scale(tax_rate) <= 2),
    gross             numeric generated always as (round(quantity * unit_price, 2)) stored,
    discount          numeric generated always as (round(quantity * unit_price * discount_percent / 100, 2)) stored,
    net               numeric generated always as (round(quantity * unit_price, 2) - round(quantity * unit_price * discount_percent / 100, 2)) stored,
    tax               numeric generated always as (round((round(quantity * unit_price, 2) - round(quantity * unit_price * discount_percent / 100, 2)) * tax_rate / 100, 2)) stored,
    primary key (invoice_id, position)
);

create table invoice_payments (
    id          uuid primary key default gen_random_uuid(),
    invoice_id  uuid not null references invoices (id) on delete cascade,
    amount      numeric not null
                constraint invoice_payments_amount_check check (amount > 0 and amount < 1e14 and scale(amount) <= 2),
    paid_on     date not null,
    method      text
                constraint invoice_payments_method_length check (char_length(method) <= 50),
    reference   text
                constraint invoice_payments_reference_length check (char_length(reference) <= 200),
    created_by  uuid references users (id) on delete set null,
    created_at  timestamptz not null default now()
);

create index invoice_payments_invoice_idx on invoice_payments (invoice_id, paid_on, id);
