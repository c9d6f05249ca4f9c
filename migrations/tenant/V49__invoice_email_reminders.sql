-- Reminders to the customer: when an invoice's payment-due reminder fires, and when it
-- becomes overdue, it is mailed again to whoever its last sent email reached. Off
-- until a tenant turns it on.
alter table invoice_settings add column email_reminders boolean not null default false;
