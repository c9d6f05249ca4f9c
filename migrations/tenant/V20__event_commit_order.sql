-- The transaction that wrote each event, so that the event stream can be read in an
-- order that never skips: ids are taken when a row is written, not when its
-- transaction commits, so a reader paging by id alone could pass an id whose
-- transaction was still open and never see that event. Readers page by (xact, id) and
-- only show events of transactions older than every one still running. Rows from
-- before this migration carry 0 and come first, in id order.
alter table audit_logs add column xact xid8 not null default '0';

alter table audit_logs alter column xact set default pg_current_xact_id();

create index audit_logs_commit_order_idx on audit_logs (xact, id);
