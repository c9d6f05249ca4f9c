-- Risk: the severity the tenant gives each finding code (and each missing clause's
-- category), stored as the policy's checked object; codes it leaves out keep their
-- defaults, so the empty object is the defaults.
alter table risk_policy add column severities jsonb not null default '{}'
    constraint risk_policy_severities check (jsonb_typeof(severities) = 'object');
