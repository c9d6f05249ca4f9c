-- The leads list, newest first, in the order of an index: without one, every page of
-- the unfiltered list sorted all of the tenant's leads to hand out fifty.
create index leads_created_idx on leads (created_at desc, id desc);
