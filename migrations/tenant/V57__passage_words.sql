-- The words of each passage, parsed once when it is written in the language its text
-- is stemmed in then (`words_language`), so a search by words finds the passages that
-- hold them without parsing each again. A passage whose text's language was set
-- otherwise since is parsed again at search time. The passages already made are
-- parsed here.

alter table contract_passages add column words tsvector;

alter table contract_passages add column words_language text;

update contract_passages as p set words_language = l.language, words = to_tsvector(l.language::regconfig, p.body)
from (
    select q.id, coalesce(
        (select r.text_language from contract_redactions r where r.id = q.redaction_id),
        (select ap.text_language from attachment_pages ap
         where ap.attachment_id = q.attachment_id and ap.page >= coalesce(q.page, 1)
         order by ap.page limit 1),
        (select c.text_language from contracts c where c.id = q.contract_id)) as language
    from contract_passages q
) as l
where p.id = l.id;
