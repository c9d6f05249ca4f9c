-- A warning before a case's deadline: the business hours before each of its clocks'
-- deadlines at which its assignee is told the case is at risk (none when null; a
-- clock no longer than that has no warning).
alter table case_sla_policies add column warn_before_hours numeric
    constraint case_sla_policies_warn_range check (warn_before_hours > 0 and warn_before_hours <= 8760);
