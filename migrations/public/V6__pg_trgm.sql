-- Trigram similarity for the clause library ("similar clauses"). Installed once, in
-- public; tenant schemas reach it through their search_path ("t_x", public) and name
-- its operator classes as public.gin_trgm_ops.
create extension if not exists pg_trgm with schema public;
