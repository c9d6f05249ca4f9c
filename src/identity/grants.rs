//! Temporary role grants (the workflow seed's user roles with expiry): an admin grants a
//! role until a time; the acting role is the highest of the user's own and their live
//! grants (`kernel::acting::ACTING_USER_SQL`). A timer at the expiry ends the grant and
//! records it; the expiry also binds by itself, so a late timer never extends a grant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{enqueue, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::page::Page;
use crate::kernel::unit;
use crate::kernel::{Actor, Origin, Role};
use crate::tenancy::scoped::TenantTx;
use crate::web::error::DomainError;

pub const GRANT_LAPSE: JobKind = JobKind {
    name: "role_grant.lapse",
    queue: "default",
    priority: 0,
    max_attempts: 10,
    timeout: std::time::Duration::from_secs(30),
};

/// A grant's expiry: ends it when its time comes, unless it already ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantLapse {
    pub grant_id: Uuid,
}

impl BackgroundJob for GrantLapse {
    const KIND: JobKind = GRANT_LAPSE;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let tx = ctx.db.begin().await?;
        let system = Actor::system("role grant expiry");
        end(&tx, &system, &ctx.origin(), self.grant_id, "lapsed").await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Longest a grant may run.
pub const MAX_GRANT_DAYS: i64 = 366;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    pub user_id: Uuid,
    /// `member`, `manager` or `admin`.
    pub role: String,
    /// When it lapses (RFC 3339), in the future, within a year.
    #[serde(deserialize_with = "crate::kernel::validate::rfc3339")]
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub expires_at: DateTime<Utc>,
    pub reason: String,
    pub granted_by: Option<Uuid>,
    pub granted_at: DateTime<Utc>,
    /// When it ended (lapsed or revoked); absent while live.
    pub ended_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, role, expires_at, reason, granted_by, granted_at, ended_at";

impl From<&Row> for GrantView {
    fn from(r: &Row) -> Self {
        Self {
            id: r.get(0),
            user_id: r.get(1),
            role: r.get(2),
            expires_at: r.get(3),
            reason: r.get(4),
            granted_by: r.get(5),
            granted_at: r.get(6),
            ended_at: r.get(7),
        }
    }
}

pub async fn grant(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewGrant,
) -> Result<GrantView, DomainError> {
    let reason = crate::kernel::validate::optional_text("reason", input.reason.as_deref(), 500)?
        .unwrap_or_default();
    if !["member", "manager", "admin"].contains(&input.role.as_str()) {
        return Err(DomainError::Validation(
            "role: member, manager or admin".into(),
        ));
    }
    let now = unit::now(tx);
    if input.expires_at <= now || input.expires_at > now + chrono::Duration::days(MAX_GRANT_DAYS) {
        return Err(DomainError::Validation(format!(
            "expires_at must be in the future and within {MAX_GRANT_DAYS} days"
        )));
    }
    actor.require(Role::Admin)?;
    let active: bool = tx
        .query_opt("select active from users where id = $1", &[&input.user_id])
        .await?
        .is_some_and(|r| r.get(0));
    if !active {
        return Err(DomainError::Validation(
            "user_id names no active user of this tenant".into(),
        ));
    }
    let row = tx
        .query_one(
            &format!(
                "insert into role_grants (user_id, role, expires_at, reason, granted_by, granted_at) \
                 values ($1, $2, $3, $4, $5, $6) returning {COLUMNS}"
            ),
            &[&input.user_id, &input.role, &input.expires_at, &reason, &actor.user_id(), &now],
        )
        .await
        .map_err(DomainError::write)?;
    let view = GrantView::from(&row);
    enqueue(
        tx,
        vec![GrantLapse { grant_id: view.id }.at(view.expires_at)],
    )
    .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "role_grant",
            entity_id: Some(view.id),
            changes: json!({"user_id": view.user_id, "role": view.role, "expires_at": view.expires_at, "reason": view.reason}),
        },
    )
    .await?;
    Ok(view)
}

/// Ends a live grant: `lapsed` (its timer) or `revoked` (an admin). `false` when it had
/// already ended.
pub async fn end(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    how: &'static str,
) -> Result<bool, DomainError> {
    let ended = tx
        .query_opt(
            "update role_grants set ended_at = $2 where id = $1 and ended_at is null returning user_id, role",
            &[&id, &unit::now(tx)],
        )
        .await?;
    let Some(row) = ended else {
        return Ok(false);
    };
    let (user, role): (Uuid, String) = (row.get(0), row.get(1));
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: how,
            entity: "role_grant",
            entity_id: Some(id),
            changes: json!({"user_id": user, "role": role}),
        },
    )
    .await?;
    Ok(true)
}

/// Every grant, newest first (admins).
pub async fn list(tx: &TenantTx, actor: &Actor) -> Result<Page<GrantView>, DomainError> {
    actor.require(Role::Admin)?;
    let rows = tx
        .query(
            &format!("select {COLUMNS} from role_grants order by granted_at desc limit 1000"),
            &[],
        )
        .await?;
    Ok(Page::whole(rows.iter().map(GrantView::from).collect()))
}

/// Revokes a live grant (admins); `Missing` when none is live under that id.
pub async fn revoke(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    if end(tx, actor, origin, id, "revoked").await? {
        Ok(())
    } else {
        Err(DomainError::Missing("live role grant"))
    }
}
