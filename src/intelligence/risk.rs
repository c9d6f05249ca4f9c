//! Risk, per tenant policy: every new text of a contract, change of its terms or of its
//! clauses, and every change of the policy enqueues [`AssessRisk`], which weighs the
//! contract's text and fields against the policy ([`assess`], pure) and keeps the
//! findings and their level. A later change of level is an event
//! (`contract.risk_assessed`) and workflow trigger rules read the level as `risk_level`.

pub mod assess;
pub mod limits;
pub mod severities;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use self::assess::{Finding, Policy, StandardClause, Terms};
use self::severities::{FindingSeverity, Severities, Severity};
use super::assessment::{AssessRisk, ASSESS_RISK};
use super::classify::{standard_distances, Distance};
use super::indexing::{lock_unchanged, sources, FileText, ReadText};
use crate::attachments::originals::{self, Guard};
use crate::contracts::model::CLAUSE_CATEGORIES;
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{self, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::reads::read_as;
use crate::kernel::{unit, validate, Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// The most forbidden terms a policy holds, and the longest.
const MAX_FORBIDDEN: usize = 100;
const MAX_TERM_CHARS: usize = 200;
/// The most governing laws a policy allows, and the longest name of one.
const MAX_LAWS: usize = 50;
const MAX_LAW_CHARS: usize = 100;

/// The tenant's risk policy: what makes a contract a risk.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskPolicy {
    /// Phrases no contract may contain (case aside): each a `high` finding.
    #[schema(max_items = 100)]
    pub forbidden_terms: Vec<String>,
    /// The most days a contract may give to pay (its `metadata.payment_terms_days`, or
    /// what its text says); more is a `medium` finding. Null: not checked.
    #[schema(minimum = 1, maximum = 365)]
    pub max_payment_days: Option<i32>,
    /// A contract that speaks of liability must limit it (`high` when not).
    pub require_liability_cap: bool,
    /// A contract that renews by itself must have a notice period (`medium` when not).
    pub renewal_needs_notice: bool,
    /// The most days' notice stopping a contract's renewal may take (its
    /// `renewal_notice_days`, or what its text says); more is a `medium` finding: a long
    /// notice period binds the tenant to a term it meant to leave. Null or absent: not
    /// checked.
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default)]
    pub max_renewal_notice_days: Option<i32>,
    /// The laws a contract may be governed by (its `metadata.governing_law`, or what its
    /// text says), as the terms suggestions name them ("Germany", "State of New York");
    /// each entry allows a law that names it in whole words, case aside (`England`
    /// allows "England and Wales"). Another law is a `medium` finding; a contract that
    /// names none is left to `required_categories`. Empty or absent: any law.
    #[schema(max_items = 50)]
    #[serde(default)]
    pub allowed_governing_laws: Vec<String>,
    /// The longest term in months (from the contract's start and end dates, else its
    /// `metadata.term_months`, else what its text says); longer is a `medium` finding.
    /// Null or absent: not checked.
    #[schema(minimum = 1, maximum = 1200)]
    #[serde(default)]
    pub max_term_months: Option<i32>,
    /// Each clause category its contract type requires must be covered by its text or
    /// its attached clauses (`medium` for each missing).
    pub required_categories: bool,
    /// How alike in meaning (0 to 1, cosine similarity of the model's vectors) a
    /// contract's clause of a category must be to the nearest clause of that category
    /// in the tenant's library, its standard; less is a `low` finding with the standard
    /// text beside it. Null or absent: not checked. Needs the model; 0.5 flags wording
    /// that shares a topic but not a promise (see docs/intelligence.md).
    #[schema(minimum = 0.0, maximum = 1.0)]
    #[serde(default)]
    pub deviation_min_similarity: Option<f32>,
    /// How severe each finding is; absent or partial, the rest keep their defaults.
    #[serde(default)]
    pub severities: Severities,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        Self {
            forbidden_terms: Vec::new(),
            max_payment_days: None,
            require_liability_cap: true,
            renewal_needs_notice: true,
            max_renewal_notice_days: None,
            allowed_governing_laws: Vec::new(),
            max_term_months: None,
            required_categories: true,
            deviation_min_similarity: None,
            severities: Severities::default(),
        }
    }
}

impl RiskPolicy {
    fn check(mut self) -> Result<Self, DomainError> {
        self.forbidden_terms = texts(
            "forbidden_terms",
            self.forbidden_terms,
            MAX_FORBIDDEN,
            MAX_TERM_CHARS,
        )?;
        for (field, limit, most) in [
            ("max_payment_days", self.max_payment_days, 365),
            (
                "max_renewal_notice_days",
                self.max_renewal_notice_days,
                3650,
            ),
            ("max_term_months", self.max_term_months, 1200),
        ] {
            if limit.is_some_and(|n| !(1..=most).contains(&n)) {
                return Err(DomainError::invalid(format!(
                    "{field}: 1 to {most}, or null"
                )));
            }
        }
        self.allowed_governing_laws = texts(
            "allowed_governing_laws",
            self.allowed_governing_laws,
            MAX_LAWS,
            MAX_LAW_CHARS,
        )?;
        if self
            .allowed_governing_laws
            .iter()
            .any(|law| !law.chars().any(char::is_alphanumeric))
        {
            // It would allow nothing, and the team would believe it allows a law.
            return Err(DomainError::invalid(
                "allowed_governing_laws: each names a law in words",
            ));
        }
        if self
            .deviation_min_similarity
            .is_some_and(|s| !(0.0..=1.0).contains(&s))
        {
            return Err(DomainError::invalid(
                "deviation_min_similarity: 0 to 1, or null",
            ));
        }
        self.severities = self.severities.check()?;
        Ok(self)
    }
}

/// A policy's list of phrases: at most `most`, each checked text of at most `chars`.
fn texts(
    field: &str,
    list: Vec<String>,
    most: usize,
    chars: usize,
) -> Result<Vec<String>, DomainError> {
    if list.len() > most {
        return Err(DomainError::invalid(format!("{field}: at most {most}")));
    }
    list.iter()
        .map(|text| validate::text(field, text, chars))
        .collect()
}

const POLICY_SQL: &str = "select forbidden_terms, max_payment_days, require_liability_cap, \
     renewal_needs_notice, required_categories, deviation_min_similarity, severities, \
     max_renewal_notice_days, allowed_governing_laws, max_term_months from risk_policy";

fn policy_of(rows: &[tokio_postgres::Row]) -> Result<RiskPolicy, DomainError> {
    let Some(r) = rows.first() else {
        return Ok(RiskPolicy::default());
    };
    // Stored as the policy was checked at save; a value this build cannot read is a
    // fault to report, not a reason to weigh contracts by the defaults unnoticed.
    let severities = serde_json::from_value(r.get(6))
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("stored severities: {e}")))?;
    Ok(RiskPolicy {
        forbidden_terms: r.get(0),
        max_payment_days: r.get(1),
        require_liability_cap: r.get(2),
        renewal_needs_notice: r.get(3),
        max_renewal_notice_days: r.get(7),
        allowed_governing_laws: r.get(8),
        max_term_months: r.get(9),
        required_categories: r.get(4),
        deviation_min_similarity: r.get(5),
        severities,
    })
}

pub async fn get_policy(db: &TenantDb, principal: &Principal) -> Result<RiskPolicy, DomainError> {
    let (_, results) = read_as(db, principal, Role::Viewer, &[(POLICY_SQL, &[])]).await?;
    policy_of(&results[0])
}

/// Sets the policy (admins) and has every contract weighed against it again.
pub async fn put_policy(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: RiskPolicy,
) -> Result<RiskPolicy, DomainError> {
    actor.require(Role::Admin)?;
    let body = body.check()?;
    let old = policy_of(&tx.query(POLICY_SQL, &[]).await?)?;
    let severities = serde_json::to_value(&body.severities)
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("severities: {e}")))?;
    tx.execute(
        "insert into risk_policy (forbidden_terms, max_payment_days, require_liability_cap, \
         renewal_needs_notice, required_categories, deviation_min_similarity, severities, \
         max_renewal_notice_days, allowed_governing_laws, max_term_months, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         on conflict (id) do update set forbidden_terms = excluded.forbidden_terms, \
         max_payment_days = excluded.max_payment_days, \
         require_liability_cap = excluded.require_liability_cap, \
         renewal_needs_notice = excluded.renewal_needs_notice, \
         required_categories = excluded.required_categories, \
         deviation_min_similarity = excluded.deviation_min_similarity, \
         severities = excluded.severities, \
         max_renewal_notice_days = excluded.max_renewal_notice_days, \
         allowed_governing_laws = excluded.allowed_governing_laws, \
         max_term_months = excluded.max_term_months, updated_at = excluded.updated_at",
        &[
            &body.forbidden_terms,
            &body.max_payment_days,
            &body.require_liability_cap,
            &body.renewal_needs_notice,
            &body.required_categories,
            &body.deviation_min_similarity,
            &severities,
            &body.max_renewal_notice_days,
            &body.allowed_governing_laws,
            &body.max_term_months,
            &unit::now(tx),
        ],
    )
    .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "risk_policy",
            entity_id: None,
            changes: json!({"old": old, "new": body}),
        },
    )
    .await?;
    let contracts = tx.query("select id from contracts", &[]).await?;
    let jobs = contracts
        .iter()
        .map(|row| {
            AssessRisk {
                contract_id: row.get(0),
            }
            .now()
        })
        .collect();
    jobs::enqueue(tx, jobs).await?;
    Ok(body)
}

/// A contract's latest risk assessment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractRisk {
    pub contract_id: Uuid,
    /// False until the assessment job has run once.
    pub assessed: bool,
    /// The worst finding's severity (`none` without findings); null until assessed.
    pub level: Option<Severity>,
    /// Worst first, each with its reason and, where there is one, its sentence.
    pub findings: Vec<Finding>,
    /// The contract version it was made of.
    pub contract_version: Option<i32>,
    pub assessed_at: Option<DateTime<Utc>>,
}

/// `contract`'s risk, for anyone who may read it and its original (findings quote it).
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<ContractRisk, DomainError> {
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from contracts where id = $1", &[&contract]),
            (originals::CONTRACT_GUARD_SQL, &[&contract]),
            (
                "select findings, contract_version, assessed_at from contract_risk where contract_id = $1",
                &[&contract],
            ),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("contract"));
    }
    originals::require_original(Guard::from_rows(&results[1]).as_ref(), &actor)?;
    let Some(row) = results[2].first() else {
        return Ok(ContractRisk {
            contract_id: contract,
            assessed: false,
            level: None,
            findings: Vec::new(),
            contract_version: None,
            assessed_at: None,
        });
    };
    let findings: Vec<Finding> = serde_json::from_value(row.get(0))
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("stored findings: {e}")))?;
    Ok(ContractRisk {
        contract_id: contract,
        assessed: true,
        level: Some(assess::level(&findings)),
        findings,
        contract_version: row.get(1),
        assessed_at: row.get(2),
    })
}

/// What the job reads of a contract besides its text, and the policy, in one statement.
/// Numbers of `metadata` are anyone's JSON: they are held within bigint's range (a
/// payment term of 1e30 days is still too long) so no value fails the assessment.
const INPUTS_SQL: &str = "select c.version, c.auto_renew, c.renewal_notice_days, \
     case when jsonb_typeof(c.metadata -> 'payment_terms_days') = 'number' \
          then least(greatest((c.metadata ->> 'payment_terms_days')::numeric, -1e9), 1e9)::bigint end, \
     coalesce((select t.required_clause_categories from contract_types t where t.key = c.contract_type), '{}'), \
     coalesce((select array_agg(distinct l.category) from contract_clauses cc join clauses l on l.id = cc.clause_id \
               where cc.contract_id = c.id), '{}'), \
     case when jsonb_typeof(c.metadata -> 'governing_law') = 'string' \
          then c.metadata ->> 'governing_law' end, \
     case when c.start_date is not null and c.end_date is not null \
          then (select extract(year from a) * 12 + extract(month from a) \
                from age(c.end_date + 1, c.start_date) a)::bigint \
          when jsonb_typeof(c.metadata -> 'term_months') = 'number' \
          then least(greatest((c.metadata ->> 'term_months')::numeric, -1e9), 1e9)::bigint end \
     from contracts c where c.id = $1";

impl BackgroundJob for AssessRisk {
    const KIND: JobKind = ASSESS_RISK;
    type Env = ();

    async fn run(self, ctx: JobContext, _: ()) -> Result<(), JobError> {
        assess_risk(&ctx, self.contract_id).await?;
        Ok(())
    }
}

/// Weighs `contract` against the policy and keeps what was found; returns the level.
pub async fn assess_risk(ctx: &JobContext, contract: Uuid) -> Result<Option<Severity>, JobError> {
    let tx = ctx.db.begin().await?;
    let Some((body, files)) = sources(&tx, contract, false).await? else {
        return Ok(None);
    };
    let Some(inputs) = tx.query_opt(INPUTS_SQL, &[&contract]).await? else {
        return Ok(None);
    };
    let policy = policy_of(&tx.query(POLICY_SQL, &[]).await?)?;
    let deviations = match policy.deviation_min_similarity {
        Some(least) => deviations(
            standard_distances(&tx, contract).await?,
            least,
            policy.severities.deviates_from_standard,
        ),
        None => Vec::new(),
    };
    drop(tx);
    let parsed: Vec<FileText> = serde_json::from_str(&files)
        .map_err(|e| JobError::Cancel(format!("the files' text of {contract}: {e}")))?;
    let version: i32 = inputs.get(0);
    let terms = Terms {
        auto_renew: inputs.get(1),
        renewal_notice_days: inputs.get(2),
        payment_terms_days: inputs.get(3),
        governing_law: inputs.get(6),
        term_months: inputs.get(7),
        attached_categories: inputs.get(5),
    };
    let required: Vec<String> = inputs.get(4);
    let rules = Policy {
        forbidden_terms: policy.forbidden_terms,
        max_payment_days: policy.max_payment_days,
        require_liability_cap: policy.require_liability_cap,
        renewal_needs_notice: policy.renewal_needs_notice,
        max_renewal_notice_days: policy.max_renewal_notice_days,
        allowed_governing_laws: policy.allowed_governing_laws,
        max_term_months: policy.max_term_months,
        required_categories: if policy.required_categories {
            required
                .into_iter()
                .filter(|c| CLAUSE_CATEGORIES.contains(&c.as_str()))
                .collect()
        } else {
            Vec::new()
        },
        severities: policy.severities,
    };
    let text: String = std::iter::once(body.as_str())
        .chain(parsed.iter().filter_map(|f| f.text.as_deref()))
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut findings = tokio::task::spawn_blocking(move || assess::assess(&text, &terms, &rules))
        .await
        .map_err(|e| JobError::Retry(format!("assessing risk: {e}")))?;
    findings.extend(deviations);
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let level = assess::level(&findings);
    let Some(tx) = lock_unchanged(ctx, contract, &ReadText::new(body, files)).await? else {
        return Ok(None);
    };
    let still = tx
        .query_opt("select version from contracts where id = $1", &[&contract])
        .await?;
    if still.is_none_or(|row| row.get::<_, i32>(0) != version) {
        // A newer version enqueued its own assessment.
        return Ok(None);
    }
    let before: Option<String> = tx
        .query_opt(
            "select level from contract_risk where contract_id = $1",
            &[&contract],
        )
        .await?
        .map(|row| row.get(0));
    let stored: Value =
        serde_json::to_value(&findings).map_err(|e| JobError::Cancel(e.to_string()))?;
    tx.execute(
        "insert into contract_risk (contract_id, level, findings, contract_version, assessed_at) \
         values ($1, $2, $3, $4, $5) on conflict (contract_id) do update set level = excluded.level, \
         findings = excluded.findings, contract_version = excluded.contract_version, \
         assessed_at = excluded.assessed_at",
        &[&contract, &level.as_str(), &stored, &version, &unit::now(&tx)],
    )
    .await?;
    // A change of level is news; a first assessment is not (every new contract gets
    // one, and its level is there to read).
    if before.as_deref().is_some_and(|b| b != level.as_str()) {
        audit::record(
            &tx,
            &Actor::system("risk assessment"),
            &ctx.origin(),
            Entry {
                action: "risk_assessed",
                entity: "contract",
                entity_id: Some(contract),
                changes: json!({"level": {"old": before, "new": level}, "findings": findings.len()}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Some(level))
}

/// The contract's clauses that read less like the tenant's standard than `least`.
fn deviations(distances: Vec<Distance>, least: f32, severity: FindingSeverity) -> Vec<Finding> {
    distances
        .into_iter()
        .filter(|d| d.similarity < least)
        .map(|d| Finding {
            code: "deviates_from_standard".into(),
            severity: severity.into(),
            reason: format!(
                "its {} clause reads unlike the standard \"{}\" (similarity {:.2}; the policy asks at least {least:.2})",
                d.category.replace('_', " "),
                d.title,
                d.similarity
            ),
            category: Some(d.category),
            passage: Some(d.passage),
            standard: Some(StandardClause {
                clause_id: d.clause_id,
                title: d.title,
                text: d.body,
                similarity: d.similarity,
            }),
        })
        .collect()
}
