//! Matching workflow definitions against a contract or a draft: their trigger rules
//! compiled into one parameterised statement that PostgreSQL evaluates, the winner by
//! priority, the report of why each matched or not, and coverage (which contract
//! types no definition can match).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{self};
use super::rules::{self, Param};
use crate::kernel::page::Page;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Role};
use crate::tenancy::scoped::TenantTx;
use crate::tenancy::TenantId;

/// A contract not yet stored, to see which definitions it would start.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftContract {
    pub title: Option<String>,
    pub contract_type: Option<String>,
    /// Exact decimal string.
    pub value: Option<String>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub counterparty_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub start_date: Option<validate::IsoDate>,
    pub end_date: Option<validate::IsoDate>,
    #[serde(default)]
    pub auto_renew: bool,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<Value>,
}

/// What rules are evaluated against.
pub enum Subject {
    Contract(Uuid),
    Draft(Box<DraftContract>),
}

/// The contract row `c` as a source, and its parameters (`$1`..).
fn source(subject: &Subject) -> Result<(String, Vec<Box<dyn ToSql + Sync + Send>>), DomainError> {
    match subject {
        Subject::Contract(id) => Ok((
            "(select contract_type, value, currency, status, counterparty_id, owner_id, tags, \
              start_date, end_date, auto_renew, title, metadata, \
              (select r.level from contract_risk r where r.contract_id = contracts.id) as risk_level \
              from contracts where id = $1) c"
                .into(),
            vec![Box::new(*id) as Box<dyn ToSql + Sync + Send>],
        )),
        Subject::Draft(draft) => {
            let value = match &draft.value {
                Some(v) => Some(
                    validate::Amount::parse("contract.value", v)?
                        .as_str()
                        .to_owned(),
                ),
                None => None,
            };
            let tags = validate::tags(&draft.tags)?;
            let metadata = match &draft.metadata {
                Some(m) => validate::metadata(m)?,
                None => json!({}),
            };
            Ok((
                "(select $1::text as contract_type, $2::text::numeric as value, $3::text as currency, \
                  $4::text as status, $5::uuid as counterparty_id, $6::uuid as owner_id, \
                  $7::text[] as tags, $8::date as start_date, $9::date as end_date, \
                  $10::bool as auto_renew, $11::text as title, $12::jsonb as metadata, \
                  null::text as risk_level) c"
                    .into(),
                vec![
                    Box::new(draft.contract_type.clone().unwrap_or_default()),
                    Box::new(value),
                    Box::new(draft.currency.clone()),
                    Box::new(draft.status.clone().unwrap_or_else(|| "draft".into())),
                    Box::new(draft.counterparty_id),
                    Box::new(draft.owner_id),
                    Box::new(tags),
                    Box::new(draft.start_date.as_ref().map(|d| d.0)),
                    Box::new(draft.end_date.as_ref().map(|d| d.0)),
                    Box::new(draft.auto_renew),
                    Box::new(draft.title.clone().unwrap_or_default()),
                    Box::new(metadata),
                ],
            ))
        }
    }
}

/// Most parameters and output columns one evaluating statement carries
/// (PostgreSQL allows 65,535 and 1,664).
const MAX_PARAMS_PER_STATEMENT: usize = 30_000;
const MAX_COLUMNS_PER_STATEMENT: usize = 1_000;

/// A rule compiled with placeholders from `$1`; [`evaluate`] shifts them into place.
pub type CompiledRule = Arc<rules::Compiled>;

pub fn compile_rule(rule: &Value) -> Result<CompiledRule, DomainError> {
    rules::compile(rule, 1)
        .map(Arc::new)
        .map_err(|e| model::rule_error("rule", e))
}

/// `sql` with every placeholder `$n` renumbered `$(n + by)`. Rule SQL carries no
/// literal text a user wrote (values are bound; metadata keys are `[a-z0-9_]`), so
/// every `$` in it starts a placeholder.
fn shifted(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut number = 0usize;
        let mut digits = 0;
        while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
            number = number * 10 + d.to_digit(10).unwrap_or(0) as usize;
            digits += 1;
            chars.next();
        }
        if digits > 0 {
            out.push_str(&(number + by).to_string());
        }
    }
    out
}

/// Evaluates compiled rules against the subject, in as few statements as the limits
/// allow: per rule, whether it holds and, `with_conditions`, whether each of its
/// conditions does (`None` where SQL says null).
pub async fn evaluate(
    tx: &TenantTx,
    subject: &Subject,
    rules: &[CompiledRule],
    with_conditions: bool,
) -> Result<Vec<Vec<Option<bool>>>, DomainError> {
    let (from, base) = source(subject)?;
    // A statement with hundreds of rules is planned once and kept: re-planning it with
    // each call's values (PostgreSQL's default for the first calls, and whenever it
    // judges a custom plan cheaper) costs more than evaluating it. Only for this
    // transaction's next statements, and reset after.
    let many = rules.len() > FIRST_PASS as usize;
    if many {
        tx.execute("set local plan_cache_mode = force_generic_plan", &[])
            .await?;
    }
    let mut out = Vec::with_capacity(rules.len());
    let mut start = 0;
    while start < rules.len() {
        let mut columns: Vec<String> = Vec::new();
        let mut params: Vec<&Param> = Vec::new();
        let mut widths = Vec::new();
        let mut end = start;
        while end < rules.len() {
            let rule = &rules[end];
            let width = 1 + if with_conditions {
                rule.conditions.len()
            } else {
                0
            };
            if !widths.is_empty()
                && (columns.len() + width > MAX_COLUMNS_PER_STATEMENT
                    || params.len() + rule.params.len() > MAX_PARAMS_PER_STATEMENT)
            {
                break;
            }
            let by = base.len() + params.len();
            columns.push(shifted(&rule.sql, by));
            if with_conditions {
                columns.extend(rule.conditions.iter().map(|(_, sql)| shifted(sql, by)));
            }
            params.extend(rule.params.iter());
            widths.push(width);
            end += 1;
        }
        let sql = format!(
            "select {} from {from}",
            columns
                .iter()
                .map(|c| format!("({c})::bool"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut bound: Vec<&(dyn ToSql + Sync)> = base
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        bound.extend(params.iter().map(|p| p.as_sql()));
        let row = tx
            .query_opt(&sql, &bound)
            .await?
            .ok_or(DomainError::Missing("contract"))?;
        let mut column = 0;
        for width in widths {
            out.push((column..column + width).map(|i| row.get(i)).collect());
            column += width;
        }
        start = end;
    }
    if many {
        tx.execute("set local plan_cache_mode to default", &[])
            .await?;
    }
    Ok(out)
}

/// Compiled trigger rules by tenant, definition id and version (a save bumps the
/// version, so an entry never goes stale, it only stops being asked for). The tenant is
/// part of the key because ids are not unique across schemas: a definition copied into
/// another tenant (a schema restored under another name) keeps its id and version, and
/// each tenant's edits then reach the same version with different rules. Cleared when
/// it grows past its bound.
static COMPILED: LazyLock<Mutex<HashMap<RuleKey, CompiledRule>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A compiled rule's key: whose, which definition, which version of it.
type RuleKey = (TenantId, Uuid, i32);
const MAX_COMPILED: usize = 100_000;

/// An active definition, as matching needs it.
struct Candidate {
    id: Uuid,
    name: String,
    priority: i32,
    version: i32,
}

/// Active definitions, highest priority first, `limit` of them after `offset`; with a
/// subject, only those whose stored facts (`rules::necessary_facts`) do not rule it out.
async fn active(
    tx: &TenantTx,
    subject: Option<&Subject>,
    offset: i64,
    limit: i64,
) -> Result<Vec<Candidate>, DomainError> {
    let rows = match subject {
        None => {
            tx.query(
                "select id, name, priority, version from workflow_definitions \
                 where is_active order by priority desc limit $1 offset $2",
                &[&limit, &offset],
            )
            .await?
        }
        Some(subject) => {
            let (from, base) = source(subject)?;
            let n = base.len();
            let mut bound: Vec<&(dyn ToSql + Sync)> = base
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            bound.push(&limit);
            bound.push(&offset);
            tx.query(
                &format!(
                    "select d.id, d.name, d.priority, d.version from workflow_definitions d, {from} \
                     where d.is_active \
                       and (d.match_types is null or c.contract_type = any(d.match_types)) \
                       and (d.match_min_value is null or c.value >= d.match_min_value) \
                     order by d.priority desc limit ${} offset ${}",
                    n + 1,
                    n + 2
                ),
                &bound,
            )
            .await?
        }
    };
    Ok(rows
        .iter()
        .map(|r| Candidate {
            id: r.get(0),
            name: r.get(1),
            priority: r.get(2),
            version: r.get(3),
        })
        .collect())
}

/// The candidates' compiled rules, compiling (and reading) only those not cached. A
/// definition saved again since the candidates were read is matched by what it says
/// now; one deleted meanwhile matches nothing.
async fn compiled(
    tx: &TenantTx,
    candidates: &[Candidate],
) -> Result<Vec<CompiledRule>, DomainError> {
    let tenant = tx.tenant_id();
    let missing: Vec<Uuid> = {
        let cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
        candidates
            .iter()
            .filter(|c| !cache.contains_key(&(tenant, c.id, c.version)))
            .map(|c| c.id)
            .collect()
    };
    let mut fresh: HashMap<Uuid, CompiledRule> = HashMap::new();
    if !missing.is_empty() {
        let rows = tx
            .query(
                "select id, version, trigger_conditions from workflow_definitions where id = any($1)",
                &[&missing],
            )
            .await?;
        let mut compiled = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.get(0);
            // A stored rule that no longer compiles (saved before a check it fails was
            // added) must not stop the tenant's other definitions from matching: it
            // matches nothing, and says so in the log, until an admin saves it again.
            let rule = compile_rule(&row.get::<_, Value>(2)).or_else(|error| {
                tracing::warn!(definition = %id, %error, "a stored trigger rule does not compile; it matches nothing");
                compile_rule(&json!({"not": {}}))
            })?;
            fresh.insert(id, rule.clone());
            compiled.push(((tenant, id, row.get(1)), rule));
        }
        let mut cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() + compiled.len() > MAX_COMPILED {
            cache.clear();
        }
        cache.extend(compiled);
    }
    let cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    candidates
        .iter()
        .map(|c| {
            match cache
                .get(&(tenant, c.id, c.version))
                .or_else(|| fresh.get(&c.id))
            {
                Some(rule) => Ok(rule.clone()),
                None => compile_rule(&json!({"not": {}})),
            }
        })
        .collect()
}

/// Definitions a first pass evaluates before looking further: the winner is usually
/// among the highest priorities.
const FIRST_PASS: i64 = 64;

/// The highest-priority active definition whose trigger rule holds for the contract.
pub async fn winner(tx: &TenantTx, subject: &Subject) -> Result<Option<Uuid>, DomainError> {
    let mut offset = 0;
    let mut limit = FIRST_PASS;
    loop {
        let candidates = active(tx, Some(subject), offset, limit).await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let rules = compiled(tx, &candidates).await?;
        let truths = evaluate(tx, subject, &rules, false).await?;
        if let Some(i) = truths.iter().position(|t| t[0] == Some(true)) {
            return Ok(Some(candidates[i].id));
        }
        if (candidates.len() as i64) < limit {
            return Ok(None);
        }
        offset += limit;
        limit = i64::MAX / 2;
    }
}

/// Whether one definition matched, and if not, which conditions failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResult {
    pub definition_id: Uuid,
    pub name: String,
    pub priority: i32,
    pub version: i32,
    pub matches: bool,
    /// Paths of the conditions that do not hold (`value__gte`, `any[1].tags__contains`);
    /// a condition on an empty field does not hold either.
    pub failing_conditions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchReport {
    /// The definition a submission would start: the highest-priority match.
    pub winner: Option<Uuid>,
    /// Every active definition, highest priority first.
    pub definitions: Vec<MatchResult>,
}

/// Which active definitions match, which do not, and why.
pub async fn explain(
    tx: &TenantTx,
    actor: &Actor,
    subject: &Subject,
) -> Result<MatchReport, DomainError> {
    actor.require(Role::Viewer)?;
    let candidates = active(tx, None, 0, i64::MAX / 2).await?;
    let rules = compiled(tx, &candidates).await?;
    let truths = if rules.is_empty() {
        // The subject must still exist.
        evaluate(tx, subject, &[compile_rule(&json!({}))?], false).await?;
        Vec::new()
    } else {
        evaluate(tx, subject, &rules, true).await?
    };
    let mut definitions = Vec::with_capacity(candidates.len());
    for ((candidate, rule), truth) in candidates.into_iter().zip(rules).zip(truths) {
        let matches = truth[0] == Some(true);
        let failing_conditions = if matches {
            Vec::new()
        } else {
            rule.conditions
                .iter()
                .zip(truth.into_iter().skip(1))
                .filter(|((path, _), holds)| {
                    // Under an odd number of `not`s, a condition fails the rule by holding.
                    let negated = path.split('.').filter(|step| *step == "not").count() % 2 == 1;
                    (*holds == Some(true)) == negated
                })
                .map(|((path, _), _)| path.clone())
                .collect()
        };
        definitions.push(MatchResult {
            definition_id: candidate.id,
            name: candidate.name,
            priority: candidate.priority,
            version: candidate.version,
            matches,
            failing_conditions,
        });
    }
    Ok(MatchReport {
        winner: definitions
            .iter()
            .find(|d| d.matches)
            .map(|d| d.definition_id),
        definitions,
    })
}

/// A contract under review that no workflow governs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uncovered {
    pub contract_id: Uuid,
    pub title: String,
    pub contract_type: String,
    pub value: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Contracts under review with no running workflow (nothing matched when they were
/// submitted, or the definition was deleted or matched nothing after an edit).
pub async fn coverage(tx: &TenantTx, actor: &Actor) -> Result<Page<Uncovered>, DomainError> {
    actor.require(Role::Viewer)?;
    let rows = tx
        .query(
            "select c.id, c.title, c.contract_type, c.value::text, c.updated_at from contracts c \
             where c.status = 'in_review' and not exists (select 1 from workflow_runs r \
                 where r.contract_id = c.id and r.state = 'running') \
             order by c.updated_at limit 1000",
            &[],
        )
        .await?;
    Ok(Page::whole(
        rows.iter()
            .map(|r| Uncovered {
                contract_id: r.get(0),
                title: r.get(1),
                contract_type: r.get(2),
                value: r.get(3),
                updated_at: r.get(4),
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_shifted_and_nothing_else() {
        assert_eq!(
            shifted("c.value >= $1::text::numeric", 3),
            "c.value >= $4::text::numeric"
        );
        assert_eq!(
            shifted("(c.a = $1 and c.b = any($12::text[]) and $2)", 10),
            "(c.a = $11 and c.b = any($22::text[]) and $12)"
        );
        assert_eq!(shifted("true", 5), "true");
        assert_eq!(
            shifted("(c.metadata ->> 'region') = $1", 0),
            "(c.metadata ->> 'region') = $1"
        );
    }
}
