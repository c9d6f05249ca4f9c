-- A passage of a file's text knows the pages of the file it starts and ends on, so a
-- search can say where in the file it matched. A file's text is its pages joined by a
-- blank line, in page order; the passages already made are given their pages from that.
-- A search reads a contract's passages in text order (their ids) and stops at the first
-- few holding its words, which the index on (contract, id) serves in that order.

alter table contract_passages add column page integer;

alter table contract_passages add column last_page integer;

update contract_passages as p set
    page = (
        select f.page from (
            select ap.page, sum(char_length(ap.body) + 2) over (order by ap.page) - char_length(ap.body) - 2 as first_char
            from attachment_pages ap where ap.attachment_id = p.attachment_id
        ) as f
        where f.first_char <= p.start_char order by f.page desc limit 1),
    last_page = (
        select f.page from (
            select ap.page, sum(char_length(ap.body) + 2) over (order by ap.page) - char_length(ap.body) - 2 as first_char
            from attachment_pages ap where ap.attachment_id = p.attachment_id
        ) as f
        where f.first_char <= greatest(p.end_char - 1, p.start_char) order by f.page desc limit 1)
where p.attachment_id is not null;

create index contract_passages_contract_order_idx on contract_passages (contract_id, id);

drop index contract_passages_contract_idx;
