-- A case waiting on its customer (`pending`) stops its SLA clocks: when it was paused,
-- and the business time earlier pauses added to its deadlines (so a new priority's
-- deadlines can be counted the same way).
alter table cases add column sla_paused_at timestamptz;

alter table cases add column sla_paused_seconds bigint not null default 0
    constraint cases_sla_paused_seconds_check check (sla_paused_seconds >= 0);
