-- A recurring obligation ("a monthly service report") is a series of tasks, one per
-- occurrence: `series_key` names the series (the obligation's key), `occurrence` counts
-- periods from its anchor (0: the date the text states; 1: one period after the
-- effective date), `recurs` is the period. A single task has none of them.
alter table obligation_tasks add column series_key text;

alter table obligation_tasks add column occurrence integer;

alter table obligation_tasks add column recurs text
    constraint obligation_tasks_recurs check (recurs in ('daily', 'weekly', 'monthly', 'quarterly', 'annually'));
