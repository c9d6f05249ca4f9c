//! Searching contracts: filters, sorting, full-text search, and facet counts over the
//! same filters.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::*;
use crate::attachments::originals::{self, Reader};
use crate::kernel::language::{own_language_query, parsed_query_sql};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::{Filter, SortKey, SortKeys};
use crate::kernel::reads::read_as;
use crate::kernel::validate::{self, IsoDate};
use crate::kernel::validate::{Amount, Currency};
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// List, export and facet filters, with the list's order as the client sends them
/// (one query-string vocabulary for the three routes; the list's page comes apart,
/// see `web::list_query`).
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractFilter {
    /// Comma-separated statuses.
    pub status: Option<String>,
    pub contract_type: Option<String>,
    pub counterparty_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    /// Decimal string, inclusive.
    pub value_min: Option<String>,
    /// Decimal string, inclusive.
    pub value_max: Option<String>,
    pub currency: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub end_from: Option<IsoDate>,
    /// `YYYY-MM-DD`, inclusive.
    pub end_to: Option<IsoDate>,
    /// Contracts carrying this tag.
    pub tag: Option<String>,
    /// Full-text search over title (weighted higher), body and the text read from the
    /// contract's attached files; web-search syntax
    /// (`"exact phrase"`, `-excluded`, `or`).
    pub q: Option<String>,
    /// `created_at`, `updated_at`, `title`, `value`, `start_date`, `end_date` or
    /// `rank` (with `q`), `-` in front for descending. Default `-created_at`, or `-rank`
    /// with `q`.
    pub sort: Option<String>,
}

/// The filter as SQL: what follows `from contracts`, and its parameters.
pub(super) struct Search {
    pub(super) filter: Filter,
    /// With `q`: `, (select <the query in every language> as query ...) as parsed`,
    /// joined to `contracts`. Parsed once per execution this way, also under a generic
    /// plan, where the same call in the WHERE and ORDER BY clauses ran once per
    /// matching row (2-3x slower).
    pub(super) from_query: String,
    pub(super) has_query: bool,
    /// Whether the search reads redacted copies in place of some originals.
    pub(super) shielded: bool,
}

impl Search {
    /// What follows `from contracts`.
    fn sql(&self) -> String {
        format!("{}{}", self.from_query, self.filter.where_clause())
    }
}

/// What the contract list sorts by; `rank` too when there is a search.
const SORT_KEYS: SortKeys = SortKeys(&[
    SortKey {
        name: "created_at",
        sql: "created_at",
        nullable: false,
    },
    SortKey {
        name: "updated_at",
        sql: "updated_at",
        nullable: false,
    },
    SortKey {
        name: "title",
        sql: "lower(title) collate \"und-x-icu\"",
        nullable: false,
    },
    SortKey {
        name: "value",
        sql: "value",
        nullable: true,
    },
    SortKey {
        name: "start_date",
        sql: "start_date",
        nullable: true,
    },
    SortKey {
        name: "end_date",
        sql: "end_date",
        nullable: true,
    },
]);
const RANK: SortKey = SortKey {
    name: "rank",
    sql: "ts_rank(search, query)",
    nullable: true,
};

/// The rank of a restricted original for a reader it is kept from: none (the copy
/// matched, not the original, so the original's term weights must not order them).
const RANK_SHIELDED: SortKey = SortKey {
    name: "rank",
    sql: "case when shown_redaction is null then ts_rank(search, query) end",
    nullable: true,
};

impl ContractFilter {
    /// The filter as SQL for `reader`: a search matches a restricted original only for
    /// those who may read it, and the redacted copy that stands in for it otherwise.
    fn to_search(&self, reader: Reader) -> Result<Search, DomainError> {
        let mut w = Search {
            filter: Filter::new(),
            from_query: String::new(),
            has_query: false,
            shielded: false,
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
                w.filter.push(|n| format!("status = ${n}"), single.clone());
            } else {
                w.filter.push(|n| format!("status = any(${n})"), parsed);
            }
        }
        if let Some(t) = &self.contract_type {
            w.filter.push(
                |n| format!("contract_type = ${n}"),
                validate::truncate(t, 40),
            );
        }
        if let Some(id) = self.counterparty_id {
            w.filter.push(|n| format!("counterparty_id = ${n}"), id);
        }
        if let Some(id) = self.owner_id {
            w.filter.push(|n| format!("owner_id = ${n}"), id);
        }
        if let Some(v) = &self.value_min {
            let v = Amount::parse("value_min", v)?;
            w.filter
                .push(|n| format!("value >= ${n}::text::numeric"), v);
        }
        if let Some(v) = &self.value_max {
            let v = Amount::parse("value_max", v)?;
            w.filter
                .push(|n| format!("value <= ${n}::text::numeric"), v);
        }
        if let Some(c) = &self.currency {
            w.filter
                .push(|n| format!("currency = ${n}"), Currency::parse(c)?);
        }
        if let (Some(from), Some(to)) = (self.end_from, self.end_to) {
            if to < from {
                return Err(DomainError::Validation("end_to is before end_from".into()));
            }
        }
        if let Some(d) = self.end_from {
            w.filter.push(|n| format!("end_date >= ${n}"), d);
        }
        if let Some(d) = self.end_to {
            w.filter.push(|n| format!("end_date <= ${n}"), d);
        }
        if let Some(tag) = &self.tag {
            let tag = validate::tags(std::slice::from_ref(tag))?.remove(0);
            w.filter.push(|n| format!("tags @> array[${n}]"), tag);
        }
        if let Some(q) = &self.q {
            let q = q.trim();
            if q.is_empty() || q.chars().count() > MAX_QUERY_CHARS || q.contains('\0') {
                return Err(DomainError::Validation(format!(
                    "q must be 1 to {MAX_QUERY_CHARS} characters"
                )));
            }
            let n = w.filter.bind(q.to_owned());
            // Each text is stemmed in its own language: the index answers the query as
            // every language parses it (`query`), and the row's own language decides.
            w.from_query = format!(", {}", parsed_query_sql(n, "parsed"));
            let own = own_language_query("parsed", "text_language");
            // The contract's own text, or the text of a file attached to it (the array
            // is computed once, through the pages' index, so either side keeps its
            // index: a bitmap OR of the two).
            let originals = format!(
                "((search @@ query and search @@ {own}) or id = any(array(\
                 select a.target_id from {pages_query}, attachment_pages p \
                 join attachments a on a.id = p.attachment_id \
                 where a.target_kind = 'contract' \
                 and p.search @@ pq.query and p.search @@ {page_own})))",
                pages_query = parsed_query_sql(n, "pq"),
                page_own = own_language_query("pq", "p.text_language"),
            );
            match reader {
                Reader::Everyone => w.filter.require(originals),
                Reader::OwnerOnly(me) => {
                    // Restricted contracts of others match by title or by the copy
                    // that stands in for them (few rows: a partial index finds them).
                    let me = w.filter.bind(me);
                    w.filter.require(format!(
                        "(((shown_redaction is null or owner_id = ${me}) and {originals}) \
                         or id = any(array(select c.id from {copies_query}, contracts c \
                         join contract_redactions r on r.id = c.shown_redaction \
                         where c.shown_redaction is not null and c.owner_id <> ${me} \
                         and (r.search @@ {copy_own} \
                         or to_tsvector(c.text_language::regconfig, c.title) @@ {title_own}))))",
                        copies_query = parsed_query_sql(n, "cq"),
                        copy_own = own_language_query("cq", "r.text_language"),
                        title_own = own_language_query("cq", "c.text_language"),
                    ));
                    w.shielded = true;
                }
            }
            w.has_query = true;
        }
        Ok(w)
    }

    fn order_by(&self, search: &Search) -> Result<String, DomainError> {
        let (default, extra): (&str, &[SortKey]) = if search.shielded {
            ("-rank", &[RANK_SHIELDED])
        } else if search.has_query {
            ("-rank", &[RANK])
        } else {
            ("-created_at", &[])
        };
        SORT_KEYS.order_by(self.sort.as_deref(), default, extra)
    }
}

/// Whose restricted originals a search by `principal` may match: only a text search
/// needs to know (a list shows no bodies), so only it spends a round trip on it.
async fn reader(
    db: &TenantDb,
    principal: &Principal,
    filter: &ContractFilter,
) -> Result<Reader, DomainError> {
    if filter.q.is_none() {
        return Ok(Reader::Everyone);
    }
    Ok(originals::read_as_reader(db, principal).await?.1)
}

/// A page of the contracts matching `filter`, without their bodies, for anyone who may
/// read: the list route's logic (and the export's, with `PageRequest::export()`),
/// callable by a job as `Principal::System`.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &ContractFilter,
    page: &PageRequest,
) -> Result<Page<ContractView>, DomainError> {
    // Sorts on nullable columns and on a search rank cannot page by key: offsets.
    let mut w = filter.to_search(reader(db, principal, filter).await?)?;
    let order = filter.order_by(&w)?;
    let limit = w.filter.bind(page.fetch());
    let offset = w.filter.bind(page.offset()?);
    let sql = format!(
        "select {SUMMARY_COLUMNS} from contracts{}{order} limit ${limit} offset ${offset}",
        w.sql()
    );
    let params = w.filter.params();
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &params)]).await?;
    let contracts = results[0]
        .iter()
        .map(ContractView::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::offset(contracts, page))
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

/// Counts by status and by type of the contracts matching `filter`.
pub async fn facets(
    db: &TenantDb,
    principal: &Principal,
    filter: &ContractFilter,
) -> Result<Facets, DomainError> {
    if filter.sort.is_some() {
        return Err(DomainError::Validation(
            "facets take filters only, not sort".into(),
        ));
    }
    let w = filter.to_search(reader(db, principal, filter).await?)?;
    let by_status = format!(
        "select status, count(*) from contracts{} group by status",
        w.sql()
    );
    let by_type = format!(
        "select contract_type, count(*) from contracts{} group by contract_type order by 1",
        w.sql()
    );
    let params = w.filter.params();
    let (_, results) = read_as(
        db,
        principal,
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
    Ok(Facets {
        total,
        status,
        contract_type,
    })
}
