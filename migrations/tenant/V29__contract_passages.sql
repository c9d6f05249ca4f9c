-- Contract intelligence: a contract's text (its body and the text read from its
-- files) cut into passages, each with the vector the embedding model made of it (384
-- little-endian f32s) and the model's identity, so a change of model is seen and the
-- passages made again. Searched in the server's memory, loaded per tenant; the
-- generation moves on every change so a loaded copy knows it is stale.
create table contract_passages (
    id             bigint generated always as identity primary key,
    contract_id    uuid not null
                   constraint contract_passages_contract_id_fkey references contracts (id) on delete cascade,
    attachment_id  uuid
                   constraint contract_passages_attachment_id_fkey references attachments (id) on delete cascade,
    ordinal        integer not null,
    start_char     integer not null,
    end_char       integer not null,
    body           text not null,
    embedding      bytea not null constraint contract_passages_embedding_size check (octet_length(embedding) = 1536),
    model          text not null,
    created_at     timestamptz not null
);

create index contract_passages_contract_idx on contract_passages (contract_id);

create table vector_state (
    id          boolean primary key default true constraint vector_state_single check (id),
    generation  bigint not null,
    model       text not null
);
