-- Risk: the tenant's policy (one row; defaults when absent) and each contract's latest
-- assessment against it, made by a job on every new text or change of its terms and
-- on every change of the policy. `level` is the highest severity of the findings
-- (`none` without any); workflow trigger rules read it as `risk_level`.
create table risk_policy (
    id                         boolean primary key default true constraint risk_policy_single check (id),
    forbidden_terms            text[] not null default '{}'
                               constraint risk_policy_forbidden_terms_count check (cardinality(forbidden_terms) <= 100),
    max_payment_days           integer constraint risk_policy_max_payment_days check (max_payment_days between 1 and 365),
    require_liability_cap      boolean not null default true,
    renewal_needs_notice       boolean not null default true,
    required_categories        boolean not null default true,
    updated_at                 timestamptz not null
);

create table contract_risk (
    contract_id       uuid primary key
                      constraint contract_risk_contract_id_fkey references contracts (id) on delete cascade,
    level             text not null constraint contract_risk_level check (level in ('none', 'low', 'medium', 'high')),
    findings          jsonb not null,
    contract_version  integer not null,
    assessed_at       timestamptz not null
);
