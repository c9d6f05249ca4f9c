-- Risk: how alike in meaning (cosine similarity of the model's vectors) a contract's
-- clause must be to the tenant's nearest standard clause of its category; less is a
-- `deviates_from_standard` finding. Null (the default) leaves the check off.
alter table risk_policy add column deviation_min_similarity real
    constraint risk_policy_deviation_min_similarity check (deviation_min_similarity between 0 and 1);
