-- Risk: the policy's limits on renewal notice, governing law and term. Null and the
-- empty list check nothing, so a policy saved before them means what it meant.
alter table risk_policy add column max_renewal_notice_days integer
    constraint risk_policy_max_renewal_notice_days check (max_renewal_notice_days between 1 and 3650);
alter table risk_policy add column allowed_governing_laws text[] not null default '{}'
    constraint risk_policy_allowed_governing_laws_count check (cardinality(allowed_governing_laws) <= 50);
alter table risk_policy add column max_term_months integer
    constraint risk_policy_max_term_months check (max_term_months between 1 and 1200);
