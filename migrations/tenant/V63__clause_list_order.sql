-- The clause library in the order it is listed, by category and title: with the
-- category alone indexed, every page read all of its category's clauses to sort them
-- by title.
create index clauses_list_idx on clauses (category, lower(title), id);

-- Its first column serves what this one did.
drop index clauses_category_idx;
