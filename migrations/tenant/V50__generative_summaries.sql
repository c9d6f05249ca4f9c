-- The last generative summary of each contract, kept so that asking again for the same
-- text sends nothing out. `digest` is of everything a call sends (the endpoint, the
-- model, the instructions and the text as cut), so a changed text or setting is told
-- apart from the kept one without keeping the text itself twice.
create table generative_summaries (
    contract_id   uuid primary key references contracts (id) on delete cascade,
    digest        text not null constraint generative_summaries_digest_length check (char_length(digest) = 64),
    model         text not null constraint generative_summaries_model_length check (char_length(model) between 1 and 200),
    summary       text not null constraint generative_summaries_summary_length check (char_length(summary) between 1 and 20000),
    input_chars   integer not null constraint generative_summaries_input_chars check (input_chars >= 0),
    text_chars    integer not null constraint generative_summaries_text_chars check (text_chars >= input_chars),
    usage         jsonb not null default 'null',
    generated_by  uuid references users (id) on delete set null,
    generated_at  timestamptz not null
);
