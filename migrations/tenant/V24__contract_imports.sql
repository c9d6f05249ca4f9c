-- Contracts brought in from a file: the draft made at the upload, the file it came
-- from, and whether its body has been filled from the file's text (`filled`), could
-- not be (`failed`: the text could not be read), or was left alone because someone
-- edited the draft first (`superseded`).
create table contract_imports (
    contract_id   uuid primary key references contracts (id) on delete cascade,
    attachment_id uuid not null unique references attachments (id) on delete cascade,
    state         text not null default 'pending'
                  constraint contract_imports_state_check
                  check (state in ('pending', 'filled', 'failed', 'superseded')),
    created_at    timestamptz not null,
    updated_at    timestamptz not null
);
