-- Lists by name or title sort in Unicode's root order (ICU's "und-x-icu"), not in the
-- database's collation: under `C`, the project's clusters' collation, "Österreich"
-- sorted after "Zürich" and "Éclair" after "Zeta". An index serves a sort only in its
-- own collation, so each index of such a list is made again on the same expression,
-- collation included; the unique indexes of lowered names stay as they are (equality
-- is the same in both collations).

create index counterparties_list_idx on counterparties (lower(name) collate "und-x-icu", id);
drop index counterparties_owner_idx;
create index counterparties_owner_idx on counterparties (owner_id, lower(name) collate "und-x-icu", id);
drop index counterparties_parent_idx;
create index counterparties_parent_idx on counterparties (parent_id, lower(name) collate "und-x-icu", id);

drop index contacts_name_idx;
create index contacts_name_idx on contacts (lower(name) collate "und-x-icu", id);

drop index opportunities_name_idx;
create index opportunities_name_idx on opportunities (lower(name) collate "und-x-icu", id);
drop index opportunities_owner_idx;
create index opportunities_owner_idx on opportunities (owner_id, lower(name) collate "und-x-icu", id);
drop index opportunities_account_idx;
create index opportunities_account_idx on opportunities (account_id, lower(name) collate "und-x-icu", id);
drop index opportunities_stage_list_idx;
create index opportunities_stage_list_idx on opportunities (stage, lower(name) collate "und-x-icu", id);

create index templates_list_idx on templates (lower(name) collate "und-x-icu", id);

drop index clauses_list_idx;
create index clauses_list_idx on clauses (category, lower(title) collate "und-x-icu", id);
