-- The addresses each invoice email reached, and those the mail server refused for good:
-- an email goes to every address the server takes, so one unknown user no longer fails
-- it for the rest, and a retry after an outage goes only to those not yet reached.

alter table invoice_emails add column delivered text[] not null default '{}';

alter table invoice_emails add column refused text[] not null default '{}';

update invoice_emails set delivered = recipients || cc where status = 'sent';
