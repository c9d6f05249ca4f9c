-- What a definition's trigger rule requires of every contract it can match, derived
-- when it is saved (null: nothing known). Matching reads only the definitions these
-- facts do not rule out, so most rules are never evaluated.
alter table workflow_definitions add column match_types text[];
alter table workflow_definitions add column match_min_value numeric;
