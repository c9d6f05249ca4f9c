//! Contracts: create, read, list (filters, sorting, full-text search, facets), update
//! with optimistic concurrency, lifecycle transitions, versions of the text and diffs.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::audit::{self, changed_fields, Entry};
use super::validate::{self, nullable};
use super::{read_as, read_contract_rows, RequestMeta};
use crate::auth::user_routes::require_role;
use crate::auth::users::Role;
use crate::http::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::http::tenant::AuthUser;
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `facets` and the type routes before `{id}`, which would otherwise try to read
    // "facets" as an id.
    cfg.service(contract_facets)
        .service(list_contract_types)
        .service(create_contract_type)
        .service(list_contracts)
        .service(create_contract)
        .service(get_contract)
        .service(update_contract)
        .service(delete_contract)
        .service(transition_contract)
        .service(list_versions)
        .service(get_version)
        .service(diff_versions);
}

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_BODY_CHARS: usize = 1_000_000;
const MAX_PAGE: i64 = 100;
const MAX_QUERY_CHARS: usize = 200;

pub const CONTRACT_COLUMNS: &str = "id, title, contract_type, status, value::text, currency, \
    counterparty_id, owner_id, start_date, end_date, auto_renew, renewal_notice_days, tags, \
    metadata, body, version, created_by, created_at, updated_by, updated_at";
/// The same columns without the (possibly large) body, for lists.
const SUMMARY_COLUMNS: &str = "id, title, contract_type, status, value::text, currency, \
    counterparty_id, owner_id, start_date, end_date, auto_renew, renewal_notice_days, tags, \
    metadata, null::text, version, created_by, created_at, updated_by, updated_at";

/// The lifecycle. `expired` and `terminated` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    InReview,
    Approved,
    Rejected,
    Executed,
    Expired,
    Terminated,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::InReview,
        Status::Approved,
        Status::Rejected,
        Status::Executed,
        Status::Expired,
        Status::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Executed => "executed",
            Self::Expired => "expired",
            Self::Terminated => "terminated",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Where a contract may go from here.
    pub fn next(self) -> &'static [Status] {
        match self {
            Self::Draft => &[Self::InReview],
            Self::InReview => &[Self::Approved, Self::Rejected],
            Self::Approved => &[Self::Executed],
            Self::Rejected => &[Self::Draft],
            Self::Executed => &[Self::Expired, Self::Terminated],
            Self::Expired | Self::Terminated => &[],
        }
    }

    /// Approving, rejecting, executing and ending contracts is for managers; owners
    /// may submit their drafts and take rejected ones back.
    fn needs_manager(to: Status) -> bool {
        !matches!(to, Self::InReview | Self::Draft)
    }

    /// Whether the terms (title, body, parties, value, dates, type) may still change.
    fn terms_editable(self) -> bool {
        matches!(self, Self::Draft | Self::InReview | Self::Rejected)
    }
}

#[derive(Serialize, ToSchema, Clone)]
pub struct ContractView {
    pub id: Uuid,
    pub title: String,
    pub contract_type: String,
    pub status: Status,
    /// Exact decimal string, e.g. "1250000.50".
    pub value: Option<String>,
    pub currency: Option<String>,
    pub counterparty_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub auto_renew: bool,
    pub renewal_notice_days: Option<i32>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

impl ContractView {
    pub fn from_row(row: &Row) -> Result<Self, ApiError> {
        let status: String = row.get(3);
        Ok(Self {
            id: row.get(0),
            title: row.get(1),
            contract_type: row.get(2),
            status: Status::parse(&status)
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown status {status:?}")))?,
            value: row.get(4),
            currency: row.get(5),
            counterparty_id: row.get(6),
            owner_id: row.get(7),
            start_date: row.get(8),
            end_date: row.get(9),
            auto_renew: row.get(10),
            renewal_notice_days: row.get(11),
            tags: row.get(12),
            metadata: row.get(13),
            body: row.get(14),
            version: row.get(15),
            created_by: row.get(16),
            created_at: row.get(17),
            updated_by: row.get(18),
            updated_at: row.get(19),
        })
    }

    /// The view as the audit log records it: the body by its length only (every text
    /// is kept in `contract_versions` anyway).
    fn audit_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(object) = value.as_object_mut() {
            let chars = self.body.as_deref().map_or(0, |b| b.chars().count());
            object.insert("body".into(), json!(format!("({chars} characters)")));
        }
        value
    }
}

fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header")
}

fn with_etag(mut response: HttpResponse, version: i32) -> HttpResponse {
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

/// Whether `role` (of user `actor`) may edit a record owned by `owner`.
pub fn may_edit(role: Role, actor: Uuid, owner: Option<Uuid>) -> bool {
    role >= Role::Manager || (role == Role::Member && owner == Some(actor))
}

fn not_yours() -> ApiError {
    ApiError::Forbidden("members may change only what they own; this needs the manager role".into())
}

/// Loads a contract for change, locking its row.
async fn lock_contract(tx: &TenantTx, id: Uuid) -> Result<ContractView, ApiError> {
    let row = tx
        .query_opt(
            &format!("select {CONTRACT_COLUMNS} from contracts where id = $1 for update"),
            &[&id],
        )
        .await
        .map_err(ApiError::database)?
        .ok_or(ApiError::Missing("contract"))?;
    ContractView::from_row(&row)
}

/// Locks a contract the caller may change (its owner, or a manager) and returns it with
/// the caller's current role.
pub async fn lock_editable_contract(
    tx: &TenantTx,
    user: &AuthUser,
    id: Uuid,
) -> Result<(ContractView, Role), ApiError> {
    let role = require_role(tx, user, Role::Member).await?;
    let contract = lock_contract(tx, id).await?;
    if !may_edit(role, user.claims.sub, Some(contract.owner_id)) {
        return Err(not_yours());
    }
    Ok((contract, role))
}

/// Checks, in one round trip, that the records a write names exist: an active owner,
/// a defined contract type, a counterparty. `None` skips a check.
async fn check_references(
    tx: &TenantTx,
    owner: Option<Uuid>,
    contract_type: Option<&str>,
    counterparty: Option<Uuid>,
) -> Result<(), ApiError> {
    let row = tx
        .query_one(
            "select ($1::uuid is null or exists(select 1 from users where id = $1 and active)), \
                    ($2::text is null or exists(select 1 from contract_types where key = $2)), \
                    ($3::uuid is null or exists(select 1 from counterparties where id = $3))",
            &[&owner, &contract_type, &counterparty],
        )
        .await
        .map_err(ApiError::database)?;
    if !row.get::<_, bool>(0) {
        return Err(ApiError::Validation(
            "owner_id is not an active user of this tenant".into(),
        ));
    }
    if !row.get::<_, bool>(1) {
        return Err(ApiError::Validation(format!(
            "contract_type {:?} is not defined; see GET /api/v1/contract-types",
            validate::truncate(contract_type.unwrap_or_default(), 40)
        )));
    }
    if !row.get::<_, bool>(2) {
        return Err(ApiError::Validation(
            "counterparty_id names no counterparty".into(),
        ));
    }
    Ok(())
}

/// The fields every write shares, validated together.
struct Terms {
    title: String,
    contract_type: String,
    value: Option<String>,
    currency: Option<String>,
    counterparty_id: Option<Uuid>,
    owner_id: Uuid,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    auto_renew: bool,
    renewal_notice_days: Option<i32>,
    tags: Vec<String>,
    metadata: Value,
    body: String,
}

impl Terms {
    fn check(&self) -> Result<(), ApiError> {
        if self.value.is_some() != self.currency.is_some() {
            return Err(ApiError::Validation(
                "value and currency go together: give both or neither".into(),
            ));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date) {
            if end < start {
                return Err(ApiError::Validation(
                    "end_date must not be before start_date".into(),
                ));
            }
        }
        for date in [self.start_date, self.end_date].into_iter().flatten() {
            if !(1900..=2200).contains(&chrono::Datelike::year(&date)) {
                return Err(ApiError::Validation(
                    "dates must fall between the years 1900 and 2200".into(),
                ));
            }
        }
        if let Some(days) = self.renewal_notice_days {
            if !(0..=3650).contains(&days) {
                return Err(ApiError::Validation(
                    "renewal_notice_days must be 0 to 3650".into(),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContract {
    pub(crate) title: String,
    /// Required, except when generating from a template (which gives its own).
    #[serde(default)]
    pub(crate) contract_type: String,
    /// Decimal string; a JSON number is refused.
    value: Option<String>,
    currency: Option<String>,
    counterparty_id: Option<Uuid>,
    /// Defaults to the caller; members may only name themselves.
    owner_id: Option<Uuid>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    #[serde(default)]
    auto_renew: bool,
    renewal_notice_days: Option<i32>,
    #[serde(default)]
    tags: Vec<String>,
    #[schema(value_type = Object)]
    metadata: Option<Value>,
    #[serde(default)]
    pub(crate) body: String,
}

impl CreateContract {
    fn terms(self, caller: Uuid) -> Result<Terms, ApiError> {
        let terms = Terms {
            title: validate::text("title", &self.title, MAX_TITLE_CHARS)?,
            contract_type: match self.contract_type.trim() {
                "" => return Err(ApiError::Validation("contract_type is required".into())),
                key => key.to_owned(),
            },
            value: self
                .value
                .as_deref()
                .map(|v| validate::decimal("value", v))
                .transpose()?,
            currency: self
                .currency
                .as_deref()
                .map(validate::currency)
                .transpose()?,
            counterparty_id: self.counterparty_id,
            owner_id: self.owner_id.unwrap_or(caller),
            start_date: self.start_date,
            end_date: self.end_date,
            auto_renew: self.auto_renew,
            renewal_notice_days: self.renewal_notice_days,
            tags: validate::tags(&self.tags)?,
            metadata: validate::metadata(&self.metadata.unwrap_or_else(|| json!({})))?,
            body: validate::body("body", &self.body, MAX_BODY_CHARS)?,
        };
        terms.check()?;
        Ok(terms)
    }
}

/// Inserts a contract with its first version and audit row; the caller commits.
/// Checks the caller's role (member at least) and the references together, in one
/// round trip.
pub async fn insert_contract(
    tx: &TenantTx,
    user: &AuthUser,
    meta: &RequestMeta,
    request: CreateContract,
) -> Result<ContractView, ApiError> {
    let caller = user.claims.sub;
    let terms = request.terms(caller)?;
    let (role, references) = tokio::join!(
        require_role(tx, user, Role::Member),
        check_references(
            tx,
            Some(terms.owner_id),
            Some(&terms.contract_type),
            terms.counterparty_id,
        )
    );
    let role = role?;
    if terms.owner_id != caller && role < Role::Manager {
        return Err(ApiError::Forbidden(
            "members create contracts they own; naming another owner needs the manager role".into(),
        ));
    }
    references?;
    let row = tx
        .query_one(
            &format!(
                "insert into contracts (title, contract_type, value, currency, counterparty_id, owner_id, \
                 start_date, end_date, auto_renew, renewal_notice_days, tags, metadata, body, created_by, updated_by) \
                 values ($1, $2, $3::text::numeric, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                 returning {CONTRACT_COLUMNS}"
            ),
            &[
                &terms.title,
                &terms.contract_type,
                &terms.value,
                &terms.currency,
                &terms.counterparty_id,
                &terms.owner_id,
                &terms.start_date,
                &terms.end_date,
                &terms.auto_renew,
                &terms.renewal_notice_days,
                &terms.tags,
                &terms.metadata,
                &terms.body,
                &caller,
            ],
        )
        .await
        .map_err(ApiError::write)?;
    let contract = ContractView::from_row(&row)?;
    // Both inserts go out together (one round trip).
    let first_version = async {
        tx.execute(
            "insert into contract_versions (contract_id, version, title, body, created_by) values ($1, $2, $3, $4, $5)",
            &[&contract.id, &contract.version, &contract.title, &terms.body, &caller],
        )
        .await
        .map_err(ApiError::database)
    };
    let audited = audit::record(
        tx,
        caller,
        meta,
        Entry {
            action: "create",
            entity: "contract",
            entity_id: Some(contract.id),
            changes: contract.audit_json(),
        },
    );
    tokio::try_join!(first_version, audited)?;
    Ok(contract)
}

pub fn created(contract: &ContractView) -> HttpResponse {
    let mut response = HttpResponse::Created().json(contract);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/contracts/{}", contract.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    with_etag(response, contract.version)
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts",
    tag = "contracts",
    request_body = CreateContract,
    responses(
        (status = 201, description = "Created (ETag: its version)", body = ContractView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts")]
pub async fn create_contract(
    user: AuthUser,
    db: TenantDb,
    meta: RequestMeta,
    body: web::Json<CreateContract>,
) -> Result<HttpResponse, ApiError> {
    let tx = db.begin().await?;
    let contract = insert_contract(&tx, &user, &meta, body.into_inner()).await?;
    tx.commit().await.map_err(ApiError::database)?;
    Ok(created(&contract))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract (ETag: its version)", body = ContractView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}")]
pub async fn get_contract(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let sql = format!("select {CONTRACT_COLUMNS} from contracts where id = $1");
    let results = read_as(&db, &user, Role::Viewer, &[(&sql, &[&id])]).await?;
    let row = results[0].first().ok_or(ApiError::Missing("contract"))?;
    let contract = ContractView::from_row(row)?;
    Ok(with_etag(
        HttpResponse::Ok().json(&contract),
        contract.version,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateContract {
    /// The version this change was based on (or send `If-Match: "<version>"`).
    version: Option<i32>,
    title: Option<String>,
    contract_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    value: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    counterparty_id: Option<Option<Uuid>>,
    owner_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    start_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    end_date: Option<Option<NaiveDate>>,
    auto_renew: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    renewal_notice_days: Option<Option<i32>>,
    tags: Option<Vec<String>>,
    #[schema(value_type = Object)]
    metadata: Option<Value>,
    body: Option<String>,
}

impl UpdateContract {
    fn touches_terms(&self) -> bool {
        self.title.is_some()
            || self.contract_type.is_some()
            || self.value.is_some()
            || self.currency.is_some()
            || self.counterparty_id.is_some()
            || self.start_date.is_some()
            || self.end_date.is_some()
            || self.body.is_some()
    }
}

/// The version a change is based on: `If-Match` or the body's `version`, which must
/// agree when both are sent. Neither is a 428: blind overwrites are refused.
pub fn expected_version(req: &HttpRequest, in_body: Option<i32>) -> Result<i32, ApiError> {
    let from_header = match req.headers().get(header::IF_MATCH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
                .and_then(|v| v.parse::<i32>().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest("If-Match must be an ETag such as \"3\"".into())
                })?,
        ),
    };
    match (from_header, in_body) {
        (Some(a), Some(b)) if a != b => {
            Err(ApiError::BadRequest("If-Match and version disagree".into()))
        }
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Err(ApiError::refused(
            StatusCode::PRECONDITION_REQUIRED,
            "version_required",
            "send the version you read, as If-Match or a version field",
            Value::Null,
        )),
    }
}

pub fn version_conflict(current: i32) -> ApiError {
    ApiError::refused(
        StatusCode::CONFLICT,
        "version_conflict",
        format!("the contract changed meanwhile (now at version {current}); read it again"),
        json!({ "current_version": current }),
    )
}

#[utoipa::path(
    patch,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = UpdateContract,
    responses(
        (status = 200, description = "Updated (ETag: the new version)", body = ContractView),
        (status = 409, description = "version_conflict or contract_locked", body = ErrorBody),
        (status = 428, description = "version_required", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/contracts/{id}")]
pub async fn update_contract(
    req: HttpRequest,
    user: AuthUser,
    db: TenantDb,
    meta: RequestMeta,
    id: web::Path<Uuid>,
    body: web::Json<UpdateContract>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let expected = expected_version(&req, patch.version)?;
    let caller = user.claims.sub;
    let tx = db.begin().await?;
    let (old, role) = lock_editable_contract(&tx, &user, id.into_inner()).await?;
    if old.version != expected {
        return Err(version_conflict(old.version));
    }
    if patch.touches_terms() && !old.status.terms_editable() {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "contract_locked",
            format!(
                "the terms of a contract that is {} no longer change; only tags, metadata, owner and renewal settings do",
                old.status.as_str()
            ),
            json!({ "status": old.status }),
        ));
    }
    if let Some(owner) = patch.owner_id {
        if owner != old.owner_id && role < Role::Manager {
            return Err(ApiError::Forbidden(
                "handing a contract to another owner needs the manager role".into(),
            ));
        }
    }
    let old_body = old.body.clone().unwrap_or_default();
    let terms = Terms {
        title: match &patch.title {
            Some(t) => validate::text("title", t, MAX_TITLE_CHARS)?,
            None => old.title.clone(),
        },
        contract_type: patch
            .contract_type
            .as_deref()
            .map_or_else(|| old.contract_type.clone(), |t| t.trim().to_owned()),
        value: match &patch.value {
            Some(Some(v)) => Some(validate::decimal("value", v)?),
            Some(None) => None,
            None => old.value.clone(),
        },
        currency: match &patch.currency {
            Some(Some(c)) => Some(validate::currency(c)?),
            Some(None) => None,
            None => old.currency.clone(),
        },
        counterparty_id: patch.counterparty_id.unwrap_or(old.counterparty_id),
        owner_id: patch.owner_id.unwrap_or(old.owner_id),
        start_date: patch.start_date.unwrap_or(old.start_date),
        end_date: patch.end_date.unwrap_or(old.end_date),
        auto_renew: patch.auto_renew.unwrap_or(old.auto_renew),
        renewal_notice_days: patch.renewal_notice_days.unwrap_or(old.renewal_notice_days),
        tags: match &patch.tags {
            Some(tags) => validate::tags(tags)?,
            None => old.tags.clone(),
        },
        metadata: match &patch.metadata {
            Some(m) => validate::metadata(m)?,
            None => old.metadata.clone(),
        },
        body: match &patch.body {
            Some(b) => validate::body("body", b, MAX_BODY_CHARS)?,
            None => old_body.clone(),
        },
    };
    terms.check()?;
    let new_owner = (terms.owner_id != old.owner_id).then_some(terms.owner_id);
    let new_type =
        (terms.contract_type != old.contract_type).then_some(terms.contract_type.as_str());
    let new_counterparty = terms
        .counterparty_id
        .filter(|_| terms.counterparty_id != old.counterparty_id);
    if new_owner.is_some() || new_type.is_some() || new_counterparty.is_some() {
        check_references(&tx, new_owner, new_type, new_counterparty).await?;
    }
    let row = tx
        .query_one(
            &format!(
                "update contracts set title = $2, contract_type = $3, value = $4::text::numeric, currency = $5, \
                 counterparty_id = $6, owner_id = $7, start_date = $8, end_date = $9, auto_renew = $10, \
                 renewal_notice_days = $11, tags = $12, metadata = $13, body = $14, \
                 version = version + 1, updated_by = $15, updated_at = now() \
                 where id = $1 returning {CONTRACT_COLUMNS}"
            ),
            &[
                &old.id,
                &terms.title,
                &terms.contract_type,
                &terms.value,
                &terms.currency,
                &terms.counterparty_id,
                &terms.owner_id,
                &terms.start_date,
                &terms.end_date,
                &terms.auto_renew,
                &terms.renewal_notice_days,
                &terms.tags,
                &terms.metadata,
                &terms.body,
                &caller,
            ],
        )
        .await
        .map_err(ApiError::write)?;
    let new = ContractView::from_row(&row)?;
    if terms.body != old_body || terms.title != old.title {
        tx.execute(
            "insert into contract_versions (contract_id, version, title, body, created_by) values ($1, $2, $3, $4, $5)",
            &[&new.id, &new.version, &new.title, &terms.body, &caller],
        )
        .await
        .map_err(ApiError::database)?;
    }
    let mut changes = changed_fields(
        &old.audit_json(),
        &new.audit_json(),
        &["version", "updated_at", "updated_by"],
    );
    if terms.body != old_body {
        changes["body"] = json!({"old_version": old.version, "new_version": new.version});
    }
    audit::record_and_commit(
        tx,
        caller,
        &meta,
        Entry {
            action: "update",
            entity: "contract",
            entity_id: Some(new.id),
            changes,
        },
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok().json(&new), new.version))
}

#[utoipa::path(
    delete,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "contract_locked: only drafts are deleted", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/contracts/{id}")]
pub async fn delete_contract(
    user: AuthUser,
    db: TenantDb,
    meta: RequestMeta,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let caller = user.claims.sub;
    let tx = db.begin().await?;
    let (old, _) = lock_editable_contract(&tx, &user, id.into_inner()).await?;
    if old.status != Status::Draft {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "contract_locked",
            "only drafts are deleted; end other contracts with a transition",
            json!({ "status": old.status }),
        ));
    }
    tx.execute("delete from contracts where id = $1", &[&old.id])
        .await
        .map_err(ApiError::write)?;
    audit::record_and_commit(
        tx,
        caller,
        &meta,
        Entry {
            action: "delete",
            entity: "contract",
            entity_id: Some(old.id),
            changes: old.audit_json(),
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The status to move to.
    to: String,
    /// The version this decision was based on (or `If-Match`); optional here.
    version: Option<i32>,
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/transition",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = Transition,
    responses(
        (status = 200, description = "Moved (ETag: the new version)", body = ContractView),
        (status = 409, description = "invalid_transition (details.allowed lists the ones that are) or version_conflict", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/transition")]
pub async fn transition_contract(
    req: HttpRequest,
    user: AuthUser,
    db: TenantDb,
    meta: RequestMeta,
    id: web::Path<Uuid>,
    body: web::Json<Transition>,
) -> Result<HttpResponse, ApiError> {
    let Transition { to, version } = body.into_inner();
    let expected = match (req.headers().contains_key(header::IF_MATCH), version) {
        (false, None) => None,
        _ => Some(expected_version(&req, version)?),
    };
    let to = Status::parse(&to).ok_or_else(|| {
        ApiError::Validation(format!(
            "unknown status {:?}; statuses are {}",
            validate::truncate(&to, 30),
            Status::ALL.map(Status::as_str).join(", ")
        ))
    })?;
    let caller = user.claims.sub;
    let tx = db.begin().await?;
    let role = require_role(&tx, &user, Role::Member).await?;
    let old = lock_contract(&tx, id.into_inner()).await?;
    if let Some(expected) = expected {
        if expected != old.version {
            return Err(version_conflict(old.version));
        }
    }
    let allowed = old.status.next();
    if !allowed.contains(&to) {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!(
                "a contract that is {} cannot become {}; allowed: {}",
                old.status.as_str(),
                to.as_str(),
                if allowed.is_empty() {
                    "none (final status)".to_owned()
                } else {
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            json!({ "from": old.status, "to": to, "allowed": allowed }),
        ));
    }
    let permitted = if Status::needs_manager(to) {
        role >= Role::Manager
    } else {
        may_edit(role, caller, Some(old.owner_id))
    };
    if !permitted {
        return Err(ApiError::Forbidden(format!(
            "moving a contract to {} needs the manager role{}",
            to.as_str(),
            if Status::needs_manager(to) {
                ""
            } else {
                " or ownership"
            }
        )));
    }
    let row = tx
        .query_one(
            &format!(
                "update contracts set status = $2, version = version + 1, updated_by = $3, updated_at = now() \
                 where id = $1 returning {CONTRACT_COLUMNS}"
            ),
            &[&old.id, &to.as_str(), &caller],
        )
        .await
        .map_err(ApiError::write)?;
    let new = ContractView::from_row(&row)?;
    audit::record_and_commit(
        tx,
        caller,
        &meta,
        Entry {
            action: "transition",
            entity: "contract",
            entity_id: Some(new.id),
            changes: json!({"status": {"old": old.status, "new": new.status}}),
        },
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok().json(&new), new.version))
}

/// List and facet filters.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
pub struct ContractFilter {
    /// Comma-separated statuses.
    status: Option<String>,
    contract_type: Option<String>,
    counterparty_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    /// Decimal string, inclusive.
    value_min: Option<String>,
    /// Decimal string, inclusive.
    value_max: Option<String>,
    currency: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    end_from: Option<NaiveDate>,
    /// `YYYY-MM-DD`, inclusive.
    end_to: Option<NaiveDate>,
    /// Contracts carrying this tag.
    tag: Option<String>,
    /// Full-text search over title (weighted higher) and body; web-search syntax
    /// (`"exact phrase"`, `-excluded`, `or`).
    q: Option<String>,
    /// `created_at`, `updated_at`, `title`, `value`, `start_date`, `end_date` or
    /// `rank` (with `q`), `-` in front for descending. Default `-created_at`, or `-rank`
    /// with `q`.
    sort: Option<String>,
    /// 1 to 100, default 50.
    limit: Option<i64>,
    /// 0 to 100,000.
    offset: Option<i64>,
}

/// A WHERE clause and its parameters, built from a validated filter.
struct Where {
    clauses: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
    /// With `q`: `, websearch_to_tsquery(...) as query`, joined to `contracts`. Parsed
    /// once per execution this way, also under a generic plan, where the same call in
    /// the WHERE and ORDER BY clauses ran once per matching row (2-3x slower).
    from_query: String,
    has_query: bool,
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
    fn to_where(&self) -> Result<Where, ApiError> {
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
                            ApiError::Validation(format!(
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
                return Err(ApiError::Validation("end_to is before end_from".into()));
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
                return Err(ApiError::Validation(format!(
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

    fn order_by(&self, has_query: bool) -> Result<String, ApiError> {
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
                return Err(ApiError::Validation(format!(
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
    contracts: Vec<ContractView>,
    limit: i64,
    offset: i64,
    /// Whether another page follows.
    has_more: bool,
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
) -> Result<HttpResponse, ApiError> {
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
    let results = read_as(&db, &user, Role::Viewer, &[(&sql, &params)]).await?;
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
    total: i64,
    /// Count per status (every status listed, zeros included).
    #[schema(value_type = Object)]
    status: serde_json::Map<String, Value>,
    /// Count per contract type that occurs.
    #[schema(value_type = Object)]
    contract_type: serde_json::Map<String, Value>,
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
) -> Result<HttpResponse, ApiError> {
    if query.sort.is_some() || query.limit.is_some() || query.offset.is_some() {
        return Err(ApiError::Validation(
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
    let results = read_as(
        &db,
        &user,
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

#[derive(Serialize, ToSchema)]
pub struct VersionSummary {
    version: i32,
    title: String,
    characters: i32,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    version: i32,
    title: String,
    body: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/versions",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "Every text the contract has had, oldest first", body = [VersionSummary]),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/versions")]
pub async fn list_versions(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rows = read_contract_rows(
        &db,
        &user,
        id,
        "select version, title, char_length(body), created_by, created_at \
                 from contract_versions where contract_id = $1 order by version",
    )
    .await?;
    let versions: Vec<VersionSummary> = rows
        .iter()
        .map(|row| VersionSummary {
            version: row.get(0),
            title: row.get(1),
            characters: row.get(2),
            created_by: row.get(3),
            created_at: row.get(4),
        })
        .collect();
    Ok(HttpResponse::Ok().json(versions))
}

async fn fetch_versions(
    db: &TenantDb,
    user: &AuthUser,
    id: Uuid,
    versions: &[i32],
) -> Result<Vec<VersionView>, ApiError> {
    let results = read_as(
        db,
        user,
        Role::Viewer,
        &[(
            "select version, title, body, created_by, created_at from contract_versions \
                 where contract_id = $1 and version = any($2)",
            &[&id, &versions],
        )],
    )
    .await?;
    versions
        .iter()
        .map(|wanted| {
            results[0]
                .iter()
                .find(|row| row.get::<_, i32>(0) == *wanted)
                .map(|row| VersionView {
                    version: row.get(0),
                    title: row.get(1),
                    body: row.get(2),
                    created_by: row.get(3),
                    created_at: row.get(4),
                })
                .ok_or(ApiError::Missing("contract version"))
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/versions/{version}",
    tag = "contracts",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("version" = i32, Path, description = "Contract version")
    ),
    responses(
        (status = 200, description = "That version's text", body = VersionView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/versions/{version}")]
pub async fn get_version(
    user: AuthUser,
    db: TenantDb,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    let mut found = fetch_versions(&db, &user, id, &[version]).await?;
    Ok(HttpResponse::Ok().json(found.remove(0)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: i32,
    to: i32,
}

#[derive(Serialize, ToSchema)]
pub struct DiffView {
    from: i32,
    to: i32,
    lines_added: usize,
    lines_removed: usize,
    /// A unified diff (3 lines of context).
    unified: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/diff",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id"), DiffQuery),
    responses(
        (status = 200, description = "Line diff between two versions", body = DiffView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/diff")]
pub async fn diff_versions(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
    query: web::Query<DiffQuery>,
) -> Result<HttpResponse, ApiError> {
    let DiffQuery { from, to } = query.into_inner();
    let mut texts = fetch_versions(&db, &user, id.into_inner(), &[from, to]).await?;
    let (new, old) = (texts.pop().unwrap(), texts.pop().unwrap());
    let view = web::block(move || line_diff(&old, &new))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("diff: {e}")))?;
    Ok(HttpResponse::Ok().json(view))
}

fn line_diff(old: &VersionView, new: &VersionView) -> DiffView {
    use similar::{ChangeTag, TextDiff};
    // Bounded: a pathological pair of million-character texts falls back to a coarser
    // (still correct) diff instead of holding a thread.
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_secs(2))
        .diff_lines(&old.body, &new.body);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("version {}", old.version),
            &format!("version {}", new.version),
        )
        .to_string();
    DiffView {
        from: old.version,
        to: new.version,
        lines_added: added,
        lines_removed: removed,
        unified,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContractTypeView {
    key: String,
    label: String,
    required_clause_categories: Vec<String>,
    builtin: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/contract-types",
    tag = "contracts",
    responses(
        (status = 200, description = "This tenant's contract types", body = [ContractTypeView]),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contract-types")]
pub async fn list_contract_types(user: AuthUser, db: TenantDb) -> Result<HttpResponse, ApiError> {
    let results = read_as(&db, &user, Role::Viewer, &[(
                "select key, label, required_clause_categories, builtin from contract_types order by key",
                &[],
            )]).await?;
    let types: Vec<ContractTypeView> = results[0]
        .iter()
        .map(|row| ContractTypeView {
            key: row.get(0),
            label: row.get(1),
            required_clause_categories: row.get(2),
            builtin: row.get(3),
        })
        .collect();
    Ok(HttpResponse::Ok().json(types))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContractType {
    /// `[a-z][a-z0-9_]{0,39}`, e.g. `reseller`.
    key: String,
    label: String,
    #[serde(default)]
    required_clause_categories: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/contract-types",
    tag = "contracts",
    request_body = NewContractType,
    responses(
        (status = 201, description = "Added (admins: a tenant setting)", body = ContractTypeView),
        (status = 409, description = "duplicate key", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contract-types")]
pub async fn create_contract_type(
    user: AuthUser,
    db: TenantDb,
    meta: RequestMeta,
    body: web::Json<NewContractType>,
) -> Result<HttpResponse, ApiError> {
    let NewContractType {
        key,
        label,
        required_clause_categories,
    } = body.into_inner();
    let key_ok = key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return Err(ApiError::Validation(
            "key must be 1 to 40 of a-z, 0-9 and _, starting with a letter".into(),
        ));
    }
    let label = validate::text("label", &label, 100)?;
    let mut categories = Vec::new();
    for category in &required_clause_categories {
        categories.push(super::clauses::category(category)?);
    }
    categories.sort();
    categories.dedup();
    let tx = db.begin().await?;
    require_role(&tx, &user, Role::Admin).await?;
    tx.execute(
        "insert into contract_types (key, label, required_clause_categories) values ($1, $2, $3)",
        &[&key, &label, &categories],
    )
    .await
    .map_err(ApiError::write)?;
    let view = ContractTypeView {
        key,
        label,
        required_clause_categories: categories,
        builtin: false,
    };
    audit::record_and_commit(
        tx,
        user.claims.sub,
        &meta,
        Entry {
            action: "create",
            entity: "contract_type",
            entity_id: None,
            changes: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        use Status::*;
        let edges: Vec<(Status, Status)> = Status::ALL
            .iter()
            .flat_map(|from| from.next().iter().map(move |to| (*from, *to)))
            .collect();
        assert_eq!(
            edges,
            [
                (Draft, InReview),
                (InReview, Approved),
                (InReview, Rejected),
                (Approved, Executed),
                (Rejected, Draft),
                (Executed, Expired),
                (Executed, Terminated),
            ]
        );
    }

    #[test]
    fn members_edit_their_own_managers_everything_viewers_nothing() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(may_edit(Role::Member, me, Some(me)));
        assert!(!may_edit(Role::Member, me, Some(other)));
        assert!(may_edit(Role::Manager, me, Some(other)));
        assert!(!may_edit(Role::Viewer, me, Some(me)));
    }
}
