-- What a redacted copy took out, kept for masking what hangs off its contract: each
-- removed text with its kind and label, and the words of them the copy shows nowhere
-- (`{"texts": [{"text", "kind", "label"}], "telling": [...]}`). Never served: the
-- copy's own view names kinds and places only. Copies made before it have none and
-- are read from their source when masking.

alter table contract_redactions add column removed jsonb;
