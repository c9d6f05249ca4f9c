-- Full-text search stems each text in its own language: a contract, a page of a file
-- and a redacted copy keep the PostgreSQL configuration their words are stemmed with
-- (`text_language`, chosen by the application from the text's commonest short words
-- whenever the text is written), so a German contract's "Verträge" is found by
-- "Vertrag". The configurations are named in the expressions, never cast from text,
-- so the generated columns stay immutable. Texts written before are given a language
-- here by the same common words, counted by PostgreSQL.

alter table contracts add column text_language text not null default 'english' constraint contracts_text_language_check check (text_language in ('english', 'german', 'french', 'spanish'));

update contracts as t set text_language = l.language
from (select id, case
        when de > en and de >= fr and de >= es then 'german'
        when fr > en and fr > de and fr >= es then 'french'
        when es > en and es > de and es > fr then 'spanish'
        else 'english' end as language
      from (select id,
               regexp_count(lower(left(title || ' ' || body, 20000)), '\m(the|and|of|to|shall|is|this|by|for|with)\M') as en,
               regexp_count(lower(left(title || ' ' || body, 20000)), '\m(der|die|und|das|ist|wird|sich|nicht|mit|von|zu|den|dem|ein|eine)\M') as de,
               regexp_count(lower(left(title || ' ' || body, 20000)), '\m(le|et|les|des|est|du|au|il|ne|pas|par|pour|une|sera)\M') as fr,
               regexp_count(lower(left(title || ' ' || body, 20000)), '\m(el|y|los|las|del|se|no|por|con|que|una|será)\M') as es
            from contracts) as c) as l
where l.id = t.id and l.language <> 'english';

alter table contracts drop column search;

alter table contracts add column search tsvector generated always as (
        setweight(case text_language when 'german' then to_tsvector('german', title) when 'french' then to_tsvector('french', title) when 'spanish' then to_tsvector('spanish', title) else to_tsvector('english', title) end, 'A') ||
        setweight(case text_language when 'german' then to_tsvector('german', body) when 'french' then to_tsvector('french', body) when 'spanish' then to_tsvector('spanish', body) else to_tsvector('english', body) end, 'B')) stored;

create index contracts_search_idx on contracts using gin (search);

alter table attachment_pages add column text_language text not null default 'english' constraint attachment_pages_text_language_check check (text_language in ('english', 'german', 'french', 'spanish'));

update attachment_pages as t set text_language = l.language
from (select attachment_id, page, case
        when de > en and de >= fr and de >= es then 'german'
        when fr > en and fr > de and fr >= es then 'french'
        when es > en and es > de and es > fr then 'spanish'
        else 'english' end as language
      from (select attachment_id, page,
               regexp_count(lower(left(body, 20000)), '\m(the|and|of|to|shall|is|this|by|for|with)\M') as en,
               regexp_count(lower(left(body, 20000)), '\m(der|die|und|das|ist|wird|sich|nicht|mit|von|zu|den|dem|ein|eine)\M') as de,
               regexp_count(lower(left(body, 20000)), '\m(le|et|les|des|est|du|au|il|ne|pas|par|pour|une|sera)\M') as fr,
               regexp_count(lower(left(body, 20000)), '\m(el|y|los|las|del|se|no|por|con|que|una|será)\M') as es
            from attachment_pages) as c) as l
where l.attachment_id = t.attachment_id and l.page = t.page and l.language <> 'english';

alter table attachment_pages drop column search;

alter table attachment_pages add column search tsvector generated always as (
        case text_language when 'german' then to_tsvector('german', body) when 'french' then to_tsvector('french', body) when 'spanish' then to_tsvector('spanish', body) else to_tsvector('english', body) end) stored;

create index attachment_pages_search_idx on attachment_pages using gin (search);

alter table contract_redactions add column text_language text not null default 'english' constraint contract_redactions_text_language_check check (text_language in ('english', 'german', 'french', 'spanish'));

update contract_redactions as t set text_language = l.language
from (select id, case
        when de > en and de >= fr and de >= es then 'german'
        when fr > en and fr > de and fr >= es then 'french'
        when es > en and es > de and es > fr then 'spanish'
        else 'english' end as language
      from (select id,
               regexp_count(lower(left(body, 20000)), '\m(the|and|of|to|shall|is|this|by|for|with)\M') as en,
               regexp_count(lower(left(body, 20000)), '\m(der|die|und|das|ist|wird|sich|nicht|mit|von|zu|den|dem|ein|eine)\M') as de,
               regexp_count(lower(left(body, 20000)), '\m(le|et|les|des|est|du|au|il|ne|pas|par|pour|une|sera)\M') as fr,
               regexp_count(lower(left(body, 20000)), '\m(el|y|los|las|del|se|no|por|con|que|una|será)\M') as es
            from contract_redactions) as c) as l
where l.id = t.id and l.language <> 'english';

alter table contract_redactions drop column search;

alter table contract_redactions add column search tsvector generated always as (
        case text_language when 'german' then to_tsvector('german', body) when 'french' then to_tsvector('french', body) when 'spanish' then to_tsvector('spanish', body) else to_tsvector('english', body) end) stored;
