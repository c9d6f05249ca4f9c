-- Reminders after the due date on the days the tenant names, a dunning schedule
-- (7, 14 and 30 days overdue, say). Empty: nothing after the overdue mark, as before.
alter table invoice_settings add column dunning_days integer[] not null default '{}';
alter table invoice_settings add constraint invoice_settings_dunning_days check (cardinality(dunning_days) <= 10 and 1 <= all(dunning_days) and 365 >= all(dunning_days));
