-- The clause library read by the embedding model: one vector per clause (its title
-- and text), made by a job on every change, for clause search by meaning and
-- similar clauses by meaning. The tenant's vector generation covers these too.
create table clause_vectors (
    clause_id   uuid primary key
                constraint clause_vectors_clause_id_fkey references clauses (id) on delete cascade,
    embedding   bytea not null constraint clause_vectors_embedding_size check (octet_length(embedding) = 1536),
    model       text not null,
    created_at  timestamptz not null
);
