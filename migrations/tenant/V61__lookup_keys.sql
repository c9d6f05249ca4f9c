-- Records an import (and a lead's conversion) looks up by a key, each through an
-- index: an import looks up each row's duplicates as it goes, so without one every
-- row read the whole table (55 ms a row against 100,000 accounts or contacts).

-- Contacts by any address, case aside: each address lower-cased, kept beside the
-- addresses as written. The server writes both columns together.
alter table contacts add column email_keys text[] not null default '{}';

update contacts set email_keys = array(select lower(e) from unnest(emails) e) where emails <> '{}';

-- Without GIN's pending list: an import looks up each row as it makes the one
-- before, and every lookup would read through the entries not yet merged.
create index contacts_email_keys_idx on contacts using gin (email_keys) with (fastupdate = off);

-- Never read: every lookup is case-blind, which this index of the addresses as
-- written cannot serve.
drop index contacts_emails_idx;

-- Accounts by company domain, from their website or their email (the expressions of
-- `imports::service::duplicates_sql`, which must stay the same to use them). Only the
-- accounts that have one: the empty domain of all the others would be most of the
-- index, and the planner would expect it of every key.
create index counterparties_website_domain_idx on counterparties ((lower(regexp_replace(regexp_replace(coalesce(website, ''), '^[a-zA-Z][a-zA-Z0-9+.-]*://', ''), '^www\.|[/:?#].*$', '', 'g')))) where website is not null;

create index counterparties_email_domain_idx on counterparties ((lower(split_part(coalesce(email, ''), '@', 2)))) where email is not null;

-- Leads by email, case aside.
create index leads_email_key_idx on leads (lower(email));
