-- Invoices mailed to their customers: each request is a row, written with its job in
-- the requesting transaction, so a request is never lost to a crash or an SMTP
-- outage, and its Message-ID is fixed here, so a retry sends the same message (a
-- receiver keeping one copy per Message-ID sees it once).
create table invoice_emails (
    id            uuid primary key default gen_random_uuid(),
    invoice_id    uuid not null references invoices (id) on delete cascade,
    recipients    text[] not null
                  constraint invoice_emails_recipients_count check (cardinality(recipients) between 1 and 20),
    cc            text[] not null default '{}'
                  constraint invoice_emails_cc_count check (cardinality(cc) <= 20),
    subject       text not null
                  constraint invoice_emails_subject_length check (char_length(subject) between 1 and 300),
    message       text
                  constraint invoice_emails_message_length check (char_length(message) <= 5000),
    status        text not null default 'queued'
                  constraint invoice_emails_status_check check (status in ('queued', 'sent', 'failed')),
    attempts      integer not null default 0,
    last_error    text,
    requested_by  uuid references users (id) on delete set null,
    created_at    timestamptz not null,
    sent_at       timestamptz,
    failed_at     timestamptz
);

create index invoice_emails_invoice_idx on invoice_emails (invoice_id, created_at desc, id desc);
