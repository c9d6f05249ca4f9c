-- A generative summary through an outside, OpenAI-compatible endpoint the tenant
-- chooses: one row, absent (off) until the tenant's admin saves it, and nothing is sent
-- while `enabled` is false. `api_key` is write-only through the API (never shown or
-- logged); every call is audited on the contract.
create table generative_settings (
    id               boolean primary key default true constraint generative_settings_single check (id),
    enabled          boolean not null,
    base_url         text not null constraint generative_settings_base_url_length check (char_length(base_url) between 1 and 2000),
    model            text not null constraint generative_settings_model_length check (char_length(model) between 1 and 200),
    api_key          text constraint generative_settings_api_key_length check (char_length(api_key) between 1 and 500),
    max_input_chars  integer not null constraint generative_settings_max_input_chars check (max_input_chars between 1000 and 200000),
    updated_by       uuid,
    updated_at       timestamptz not null
);
