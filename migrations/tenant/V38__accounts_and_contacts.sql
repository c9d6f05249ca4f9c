-- Counterparties are the CRM's accounts: what a sales team keeps about a customer
-- beside what a contract needs. `address` becomes the billing address; the owner
-- starts as whoever created the account.
alter table counterparties rename column address to billing_address;

alter table counterparties add column shipping_address text
    constraint counterparties_shipping_address_length check (char_length(shipping_address) <= 2000);

alter table counterparties add column industry text
    constraint counterparties_industry_length check (char_length(industry) between 1 and 100);

alter table counterparties add column owner_id uuid references users (id) on delete set null;

alter table counterparties add column tags text[] not null default '{}'
    constraint counterparties_tags_count check (cardinality(tags) <= 20);

alter table counterparties add column parent_id uuid references counterparties (id) on delete set null
    constraint counterparties_not_own_parent check (parent_id <> id);

update counterparties set owner_id = created_by;

create index counterparties_owner_idx on counterparties (owner_id);

create index counterparties_parent_idx on counterparties (parent_id);

create index counterparties_tags_idx on counterparties using gin (tags);

-- Contacts stand on their own and may belong to several accounts: several emails and
-- phones, a role (what they are to the deal: decision maker, signatory...).
create table account_contacts (
    contact_id       uuid not null references contacts (id) on delete cascade,
    counterparty_id  uuid not null references counterparties (id) on delete cascade,
    primary key (contact_id, counterparty_id)
);

create index account_contacts_counterparty_idx on account_contacts (counterparty_id, contact_id);

insert into account_contacts (contact_id, counterparty_id) select id, counterparty_id from contacts;

alter table contacts add column emails text[] not null default '{}'
    constraint contacts_emails_count check (cardinality(emails) <= 10);

alter table contacts add column phones text[] not null default '{}'
    constraint contacts_phones_count check (cardinality(phones) <= 10);

alter table contacts add column role text
    constraint contacts_role_length check (char_length(role) between 1 and 100);

alter table contacts add column created_by uuid references users (id) on delete set null;

alter table contacts add column updated_at timestamptz not null default now();

update contacts set emails = array[email] where email is not null;

update contacts set phones = array[phone] where phone is not null;

alter table contacts drop column counterparty_id;

alter table contacts drop column email;

alter table contacts drop column phone;

create index contacts_name_idx on contacts (lower(name), id);

-- Finding a contact (and matching an imported one) by any of its emails.
create index contacts_emails_idx on contacts using gin (emails);
