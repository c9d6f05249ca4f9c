-- The edition of each rule-based reader (obligations, terms, risk) that a tenant's
-- stored readings were last brought up to. A release whose rules read differently
-- raises its reader's edition; the first instance to start with it walks the
-- contracts of every tenant still behind, once, and records the new edition in the
-- same transaction as the walks it enqueues.
create table public.reader_editions (
    tenant_id   uuid not null references public.tenants (id) on delete cascade,
    reader      text not null,
    edition     integer not null,
    primary key (tenant_id, reader)
);
