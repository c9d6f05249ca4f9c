-- The tenant's business calendar: SLA deadlines count working hours in it. One row at
-- most (absent: Monday to Friday, 09:00 to 17:00, UTC, no holidays).
create table business_calendar (
    id            boolean primary key default true
                  constraint business_calendar_single check (id),
    timezone      text not null,
    -- ISO weekday numbers, 1 (Monday) to 7 (Sunday).
    working_days  smallint[] not null
                  constraint business_calendar_days check (cardinality(working_days) between 1 and 7),
    day_start     time not null,
    day_end       time not null,
    holidays      date[] not null default '{}'
                  constraint business_calendar_holidays check (cardinality(holidays) <= 2000),
    updated_at    timestamptz not null default now(),
    constraint business_calendar_hours check (day_end > day_start)
);
