-- Email is sent in batches: a delivery job takes every due email of the tenant that no
-- live batch holds (up to a batch) and sends them over one SMTP connection. `held_by`
-- names the run of a job whose batch holds the row until `held_until`, which outlasts
-- the job's own timeout, so a batch still sending never loses a row to another.
alter table notification_deliveries add column held_by uuid;

alter table notification_deliveries add column held_until timestamptz;

create index notification_deliveries_due_email_idx on notification_deliveries (send_after, id) where state = 'pending' and channel = 'email';
