-- A file's text language can be set by a person, in place of the one each page's
-- words tell (a short page, a table, a bilingual annex can be told wrong). While it is
-- set, every page, read now or recognised later, is stemmed in it; cleared, each
-- page's words tell again.

alter table attachments add column text_language_set text constraint attachments_text_language_set_check check (text_language_set in ('english', 'german', 'french', 'spanish'));
