-- The queue is worked from the front of its claim index, and every claimed job leaves an
-- index entry behind there until a vacuum: with PostgreSQL's defaults (a vacuum once a
-- fifth of the table is dead) a backlog of a million means claims walking over 200,000
-- of them. Vacuum after a fixed number of dead rows instead, however large the backlog,
-- and without the cost-based pauses (the table is narrow and hot).
alter table public.jobs set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 20000, autovacuum_vacuum_cost_delay = 0);
