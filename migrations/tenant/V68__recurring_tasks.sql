-- A task may repeat: every N days, weeks, months or years from the due date its series
-- started at (`repeat_anchor`, so a monthly task due on the 31st stays on the month's
-- last day rather than drifting to the 28th), until an instant or for ever. Marking
-- one done makes the next, named by `next_id`, once.
alter table tasks add column repeat_every integer;
alter table tasks add column repeat_unit text;
alter table tasks add column repeat_until timestamptz;
alter table tasks add column repeat_anchor timestamptz;
alter table tasks add column next_id uuid;
alter table tasks add constraint tasks_repeat_check check ((repeat_every is null) = (repeat_unit is null) and (repeat_until is null or repeat_every is not null) and (repeat_unit is null) = (repeat_anchor is null) and (repeat_every is null or repeat_every between 1 and 1000) and (repeat_unit is null or repeat_unit in ('day', 'week', 'month', 'year')));
