//! Listing contracts: filters, sorting, full-text search, and facet counts over the
//! same filters.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::*;
use crate::kernel::reads::read_as;
use crate::kernel::validate::{self, IsoDate};
use crate::kernel::{DomainError, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::AuthedRouteErrors;
use crate::web::tenant::AuthUser;

/// List and facet filters.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
pub struct ContractFilter {
    /// Comma-separated statuses.
    pub(super) status: Option<String>,
    pub(super) contract_type: Option<String>,
    pub(super) counterparty_id: Option<Uuid>,
    pub(super) owner_id: Option<Uuid>,
    /// Decimal string, inclusive.
    pub(super) value_min: Option<String>,
    /// Decimal string, inclusive.
    pub(super) value_max: Option<String>,
    pub(super) currency: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub(super) end_from: Option<IsoDate>,
    /// `YYYY-MM-DD`, inclusive.
    pub(super) end_to: Option<IsoDate>,
    /// Contracts carrying this tag.
    pub(super) tag: Option<String>,
    /// Full-text search over title (weighted higher) and body; web-search syntax
    /// (`"exact phrase"`, `-excluded`, `or`).
    pub(super) q: Option<String>,
    /// `created_at`, `updated_at`, `title`, `value`, `start_date`, `end_date` or
    /// `rank` (with `q`), `-` in front for descending. Default `-created_at`, or `-rank`
    /// with `q`.
    pub(super) sort: Option<String>,
    /// 1 to 100, default 50.
    pub(super) limit: Option<i64>,
    /// 0 to 100,000.
    pub(super) offset: Option<i64>,
}

/// A WHERE clause and its parameters, built from a validated filter.
pub(super) struct Where {
    pub(super) clauses: Vec<String>,
    pub(super) params: Vec<Box<dyn ToSql + Sync + Send>>,
    /// With `q`: `, websearch_to_tsquery(...) as query`, joined to `contracts`. Parsed
    /// once per execution this way, also under a generic plan, where the same call in
    /// the WHERE and ORDER BY clauses ran once per matching row (2-3x slower).
    pub(super) from_query: String,
    pub(super) has_query: bool,
}

impl Where {
    fn push(&mut self, clause: impl FnOnce(usize) -> String, param: Box<dyn ToSql + Sync + Send>) {
        self.params.push(param);
        self.clauses.push(clause(self.params.len()));
    }

    /// What follows `from contracts`.
    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            self.from_query.clone()
        } else {
            format!("{} where {}", self.from_query, self.clauses.join(" and "))
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

impl ContractFilter {
    fn to_where(&self) -> Result<Where, DomainError> {
        let mut w = Where {
            clauses: Vec::new(),
            params: Vec::new(),
            from_query: String::new(),
            has_query: false,
        };
        if let Some(statuses) = &self.status {
            let parsed = statuses
                .split(',')
                .map(|s| {
                    Status::parse(s.trim())
                        .map(|s| s.as_str().to_owned())
                        .ok_or_else(|| {
                            DomainError::Validation(format!(
                                "status {:?} is not one of {}",
                                validate::truncate(s, 30),
                                Status::ALL.map(Status::as_str).join(", ")
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // One status as `=`, not `= any(...)`: PostgreSQL 15 walks the
            // (status, created_at) index in order only for an equality.
            if let [single] = parsed.as_slice() {
                w.push(|n| format!("status = ${n}"), Box::new(single.clone()));
            } else {
                w.push(|n| format!("status = any(${n})"), Box::new(parsed));
            }
        }
        if let Some(t) = &self.contract_type {
            w.push(
                |n| format!("contract_type = ${n}"),
                Box::new(validate::truncate(t, 40)),
            );
        }
        if let Some(id) = self.counterparty_id {
            w.push(|n| format!("counterparty_id = ${n}"), Box::new(id));
        }
        if let Some(id) = self.owner_id {
            w.push(|n| format!("owner_id = ${n}"), Box::new(id));
        }
        if let Some(v) = &self.value_min {
            let v = validate::decimal("value_min", v)?;
            w.push(|n| format!("value >= ${n}::text::numeric"), Box::new(v));
        }
        if let Some(v) = &self.value_max {
            let v = validate::decimal("value_max", v)?;
            w.push(|n| format!("value <= ${n}::text::numeric"), Box::new(v));
        }
        if let Some(c) = &self.currency {
            w.push(
                |n| format!("currency = ${n}"),
                Box::new(validate::currency(c)?),
            );
        }
        if let (Some(from), Some(to)) = (self.end_from, self.end_to) {
            if to < from {
                return Err(DomainError::Validation("end_to is before end_from".into()));
            }
        }
        if let Some(d) = self.end_from {
            w.push(|n| format!("end_date >= ${n}"), Box::new(d));
        }
        if let Some(d) = self.end_to {
            w.push(|n| format!("end_date <= ${n}"), Box::new(d));
        }
        if let Some(tag) = &self.tag {
            let tag = validate::tags(std::slice::from_ref(tag))?.remove(0);
            w.push(|n| format!("tags @> array[${n}]"), Box::new(tag));
        }
        if let Some(q) = &self.q {
            let q = q.trim();
            if q.is_empty() || q.chars().count() > MAX_QUERY_CHARS || q.contains('\0') {
                return Err(DomainError::Validation(format!(
                    "q must be 1 to {MAX_QUERY_CHARS} characters"
                )));
            }
            w.params.push(Box::new(q.to_owned()));
            w.from_query = format!(
                ", websearch_to_tsquery('english', ${}) as query",
                w.params.len()
            );
            w.clauses.push("search @@ query".into());
            w.has_query = true;
        }
        Ok(w)
    }

    fn order_by(&self, has_query: bool) -> Result<String, DomainError> {
        let sort = self
            .sort
            .as_deref()
            .unwrap_or(if has_query { "-rank" } else { "-created_at" });
        let (descending, key) = match sort.strip_prefix('-') {
            Some(key) => (true, key),
            None => (false, sort),
        };
        let column = match key {
            "created_at" | "updated_at" | "title" | "value" | "start_date" | "end_date" => {
                key.to_owned()
            }
            "rank" if has_query => "ts_rank(search, query)".to_owned(),
            _ => {
                return Err(DomainError::Validation(format!(
                    "sort must be one of created_at, updated_at, title, value, start_date, end_date{}, optionally with a leading -",
                    if has_query { ", rank" } else { "" }
                )))
            }
        };
        let direction = if descending { "desc" } else { "asc" };
        // `nulls last` only where nulls exist: on a NOT NULL column it would stop
        // the (key desc, id desc) indexes from serving the order.
        let nulls = match key {
            "value" | "start_date" | "end_date" | "rank" => " nulls last",
            _ => "",
        };
        Ok(format!(
            " order by {column} {direction}{nulls}, id {direction}"
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContractPage {
    /// Without bodies; fetch one contract for its text.
    pub(super) contracts: Vec<ContractView>,
    pub(super) limit: i64,
    pub(super) offset: i64,
    /// Whether another page follows.
    pub(super) has_more: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts",
    tag = "contracts",
    params(ContractFilter),
    responses(
        (status = 200, description = "A page of contracts", body = ContractPage),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts")]
pub async fn list_contracts(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<ContractFilter>,
) -> Result<HttpResponse, DomainError> {
    let (limit, offset) = validate::page(query.limit, query.offset, MAX_PAGE)?;
    let mut w = query.to_where()?;
    let order = query.order_by(w.has_query)?;
    w.params.push(Box::new(limit + 1));
    w.params.push(Box::new(offset));
    let n = w.params.len();
    let sql = format!(
        "select {SUMMARY_COLUMNS} from contracts{}{order} limit ${} offset ${n}",
        w.sql(),
        n - 1
    );
    let params = w.params();
    let (_, results) = read_as(&db, &user.principal(), Role::Viewer, &[(&sql, &params)]).await?;
    let mut contracts = results[0]
        .iter()
        .map(ContractView::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let has_more = contracts.len() as i64 > limit;
    contracts.truncate(limit as usize);
    Ok(HttpResponse::Ok().json(ContractPage {
        contracts,
        limit,
        offset,
        has_more,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Facets {
    /// Contracts matching the filters.
    pub(super) total: i64,
    /// Count per status (every status listed, zeros included).
    #[schema(value_type = Object)]
    pub(super) status: serde_json::Map<String, Value>,
    /// Count per contract type that occurs.
    #[schema(value_type = Object)]
    pub(super) contract_type: serde_json::Map<String, Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/facets",
    tag = "contracts",
    params(ContractFilter),
    responses(
        (status = 200, description = "Counts by status and type for the filters", body = Facets),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/facets")]
pub async fn contract_facets(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<ContractFilter>,
) -> Result<HttpResponse, DomainError> {
    if query.sort.is_some() || query.limit.is_some() || query.offset.is_some() {
        return Err(DomainError::Validation(
            "facets take filters only, not sort, limit or offset".into(),
        ));
    }
    let w = query.to_where()?;
    let by_status = format!(
        "select status, count(*) from contracts{} group by status",
        w.sql()
    );
    let by_type = format!(
        "select contract_type, count(*) from contracts{} group by contract_type order by 1",
        w.sql()
    );
    let params = w.params();
    let (_, results) = read_as(
        &db,
        &user.principal(),
        Role::Viewer,
        &[(&by_status, &params), (&by_type, &params)],
    )
    .await?;
    let mut status = serde_json::Map::new();
    for s in Status::ALL {
        status.insert(s.as_str().into(), json!(0));
    }
    let mut total = 0;
    for row in &results[0] {
        let count: i64 = row.get(1);
        total += count;
        status.insert(row.get::<_, String>(0), json!(count));
    }
    let contract_type = results[1]
        .iter()
        .map(|row| (row.get::<_, String>(0), json!(row.get::<_, i64>(1))))
        .collect();
    Ok(HttpResponse::Ok().json(Facets {
        total,
        status,
        contract_type,
    }))
}
