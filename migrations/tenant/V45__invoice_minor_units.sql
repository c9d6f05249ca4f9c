-- Amounts round to their currency's minor unit (ISO 4217): none for the yen, three for
-- the Kuwaiti dinar, two for most. Each line keeps its currency's exponent, so
-- PostgreSQL still computes every amount itself. Generated columns cannot change their
-- expression in place (before PostgreSQL 17), so they are made again. Drafts of the
-- currencies without two decimals are recomputed; an invoice already sent keeps the
-- amounts its customer was given.
alter table invoice_lines add column minor_units smallint not null default 2
    constraint invoice_lines_minor_units_check check (minor_units between 0 and 4);

alter table invoice_lines drop column tax;

alter table invoice_lines drop column net;

alter table invoice_lines drop column discount;

alter table invoice_lines drop column gross;

alter table invoice_lines add column gross numeric
    generated always as (round(quantity * unit_price, minor_units)) stored;

alter table invoice_lines add column discount numeric
    generated always as (round(quantity * unit_price * discount_percent / 100, minor_units)) stored;

alter table invoice_lines add column net numeric
    generated always as (round(quantity * unit_price, minor_units) - round(quantity * unit_price * discount_percent / 100, minor_units)) stored;

alter table invoice_lines add column tax numeric
    generated always as (round((round(quantity * unit_price, minor_units) - round(quantity * unit_price * discount_percent / 100, minor_units)) * tax_rate / 100, minor_units)) stored;

update invoice_lines l set minor_units = case
        when i.currency in ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') then 0
        when i.currency in ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') then 3
        when i.currency in ('CLF', 'UYW') then 4
        else 2 end
    from invoices i
    where i.id = l.invoice_id and i.status = 'draft';

update invoices i set subtotal = s.gross, discount_total = s.discount, tax_total = s.tax, total = s.net + s.tax
    from (select invoice_id, sum(gross) gross, sum(discount) discount, sum(net) net, sum(tax) tax
          from invoice_lines group by invoice_id) s
    where i.id = s.invoice_id and i.status = 'draft';

alter table invoice_payments drop constraint invoice_payments_amount_check;

alter table invoice_payments add constraint invoice_payments_amount_check
    check (amount > 0 and amount < 1e14 and scale(amount) <= 4);
