-- A contract's text language can be set by a person, in place of the one its words
-- tell (a short or bilingual text can be told wrong). While it is set, every write of
-- the text keeps it; cleared, the words tell again.

alter table contracts add column text_language_set text constraint contracts_text_language_set_check check (text_language_set in ('english', 'german', 'french', 'spanish'));
