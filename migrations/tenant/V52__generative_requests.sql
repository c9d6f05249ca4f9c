-- The last generative summary of each contract asked for in the background: the
-- member gets an answer at once, a job makes the call, and this row says how it went
-- (pending, answered or failed with the reason) until the next request takes its place.
create table generative_requests (
    contract_id   uuid primary key references contracts (id) on delete cascade,
    state         text not null constraint generative_requests_state check (state in ('pending', 'answered', 'failed')),
    refresh       boolean not null default false,
    requested_by  uuid references users (id) on delete set null,
    requested_at  timestamptz not null,
    finished_at   timestamptz,
    error         text constraint generative_requests_error_length check (char_length(error) <= 400)
);
