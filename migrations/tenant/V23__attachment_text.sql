-- The text of each attached file, read by a job after the upload commits: its state
-- (`pending` until the job has run, then `extracted`, `failed` with the reason, or
-- `unsupported` for a kind of file that has no text to read yet, such as an image
-- awaiting OCR), and the text page by page, searchable with the contract's own
-- full-text search configuration.
create table attachment_texts (
    attachment_id uuid primary key references attachments (id) on delete cascade,
    state         text not null default 'pending'
                  constraint attachment_texts_state_check
                  check (state in ('pending', 'extracted', 'failed', 'unsupported')),
    error         text,
    pages         integer not null default 0,
    characters    bigint not null default 0,
    updated_at    timestamptz not null
);

create table attachment_pages (
    attachment_id uuid not null references attachments (id) on delete cascade,
    page          integer not null constraint attachment_pages_page_check check (page >= 1),
    body          text not null,
    search        tsvector generated always as (to_tsvector('english', body)) stored,
    primary key (attachment_id, page)
);

create index attachment_pages_search_idx on attachment_pages using gin (search);
