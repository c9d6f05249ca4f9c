-- A repeating task names the occurrence it made; deleting that occurrence clears the
-- name rather than leaving it pointing at nothing.
alter table tasks add constraint tasks_next_id_fkey foreign key (next_id) references tasks (id) on delete set null;
