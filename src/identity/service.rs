//! User management without HTTP: each function takes a tenant transaction, who acts
//! and where from, and leaves committing to its caller. Passwords arrive already
//! hashed: hashing is slow on purpose, so callers do it before taking a connection.

use serde_json::json;
use tokio_postgres::Row;
use uuid::Uuid;

use super::model::{UserView, USER_COLUMNS};
use super::password::NewPassword;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::{Actor, DomainError, OnConstraint, Origin, Principal, Refusal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};
use crate::tenancy::Email;

/// A user to create, validated, with the password hashed.
pub struct NewUser {
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// What to change on a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

/// Creates a user (admins). 409 `email_taken` when the address is in use. Audited.
pub async fn create_user(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    new: NewUser,
) -> Result<UserView, DomainError> {
    actor.require(Role::Admin)?;
    let row = tx
        .query_one(
            &format!(
                "insert into users (email, password_hash, display_name, role) values ($1, $2, $3, $4) \
                 returning {USER_COLUMNS}"
            ),
            &[
                &new.email.as_str(),
                &new.password_hash,
                &new.display_name,
                &new.role.as_str(),
            ],
        )
        .await
        .on_constraint("users_email_key", || {
            DomainError::Conflict("email_taken", "a user with this email already exists".into())
        })?;
    let view = UserView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "user",
            entity_id: Some(view.id),
            changes: json!({"email": view.email, "display_name": view.display_name, "role": view.role}),
        },
    )
    .await?;
    Ok(view)
}

/// Changes a user (admins). The last active admin cannot be demoted or deactivated
/// (409 `last_admin`); deactivating or resetting a password ends the user's sessions.
/// Audited, a new password as "reset", never its value.
pub async fn update_user(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    change: UserChange,
) -> Result<UserView, DomainError> {
    actor.require(Role::Admin)?;
    let current = lock_user(tx, id).await?;
    let loses_admin = current.get::<_, &str>(3) == "admin"
        && (change.role.is_some_and(|r| r != Role::Admin) || change.active == Some(false));
    if loses_admin {
        ensure_another_admin(tx, id).await?;
    }
    let row = tx
        .query_one(
            &format!(
                "update users set display_name = coalesce($2, display_name), role = coalesce($3, role), \
                 active = coalesce($4, active), password_hash = coalesce($5, password_hash), \
                 updated_at = now() where id = $1 returning {USER_COLUMNS}"
            ),
            &[
                &id,
                &change.display_name,
                &change.role.map(Role::as_str),
                &change.active,
                &change.password_hash,
            ],
        )
        .await?;
    if change.active == Some(false) || change.password_hash.is_some() {
        end_sessions(tx, id).await?;
    }
    let (old, new) = (UserView::from(&current), UserView::from(&row));
    let mut changes = changed_fields(&json!(old), &json!(new), &[]);
    if change.password_hash.is_some() {
        // That it changed, never what to.
        changes["password"] = json!("reset");
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "user",
            entity_id: Some(new.id),
            changes,
        },
    )
    .await?;
    Ok(new)
}

/// Deletes a user (admins), never the last active admin. Audited.
pub async fn delete_user(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    let current = lock_user(tx, id).await?;
    if current.get::<_, &str>(3) == "admin" {
        ensure_another_admin(tx, id).await?;
    }
    // Records that must always have a user: a contract's owner, an approval's
    // approver (its decision is history). Deleting their user would orphan them, so
    // it is refused with what is held; deactivating keeps the user as their author
    // (and hands pending approvals to someone who can act).
    let held = tx
        .query_one(
            "select (select count(*) from contracts where owner_id = $1), \
                    (select count(*) from approvals where approver_id = $1)",
            &[&id],
        )
        .await?;
    let (contracts, approvals): (i64, i64) = (held.get(0), held.get(1));
    if contracts + approvals > 0 {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "user_holds_records",
            format!(
                "this user owns {contracts} contract(s) and holds {approvals} approval(s): \
                 give the contracts another owner, or deactivate the user instead"
            ),
            json!({"contracts": contracts, "approvals": approvals}),
        ));
    }
    // Anything else that still points at the user (a race with a new record) is a
    // 409 too, never a 500.
    tx.execute("delete from users where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "user",
            entity_id: Some(id),
            changes: json!(UserView::from(&current)),
        },
    )
    .await
}

/// One user (admins).
pub async fn get_user(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<UserView, DomainError> {
    let sql = format!("select {USER_COLUMNS} from users where id = $1");
    let (_, results) = read_as(db, principal, Role::Admin, &[(&sql, &[&id])]).await?;
    results[0]
        .first()
        .map(UserView::from)
        .ok_or(DomainError::UserNotFound)
}

/// The user's row, locked for the rest of the transaction; 404 `user_not_found`.
pub(super) async fn lock_user(tx: &TenantTx, id: Uuid) -> Result<Row, DomainError> {
    tx.query_opt(
        &format!("select {USER_COLUMNS} from users where id = $1 for update"),
        &[&id],
    )
    .await?
    .ok_or(DomainError::UserNotFound)
}

/// A tenant must keep at least one active admin, or nobody could manage it.
async fn ensure_another_admin(tx: &TenantTx, leaving: Uuid) -> Result<(), DomainError> {
    let others: i64 = tx
        .query_one(
            "select count(*) from users where role = 'admin' and active and id <> $1",
            &[&leaving],
        )
        .await?
        .get(0);
    if others == 0 {
        return Err(DomainError::Conflict(
            "last_admin",
            "this is the tenant's last active admin".into(),
        ));
    }
    Ok(())
}

/// Ends every session of `user` (their refresh tokens).
/// Ends every session of `user`: their refresh tokens are revoked, and their next
/// session generation starts, so every access token already handed out is refused
/// from the commit on rather than at its expiry. Returns the new generation.
pub(super) async fn end_sessions(tx: &TenantTx, user: Uuid) -> Result<i32, DomainError> {
    let generation = tx
        .query_one(
            "update users set session_generation = session_generation + 1 where id = $1 \
             returning session_generation",
            &[&user],
        )
        .await?
        .get(0);
    tx.execute(
        "update refresh_tokens set revoked_at = now() where user_id = $1 and revoked_at is null",
        &[&user],
    )
    .await?;
    Ok(generation)
}

/// Built once rather than on every list request. Keyset paging on `(lower(email), id)`.
static PAGE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {USER_COLUMNS}, lower(email) from users \
         where (lower(email), id) > (coalesce($2::text, ''), coalesce($3::uuid, '00000000-0000-0000-0000-000000000000')) \
         order by lower(email), id limit $1"
    )
});

/// A page of the tenant's users, by email (admins).
pub async fn users_page(
    db: &TenantDb,
    principal: &Principal,
    page: &PageRequest,
) -> Result<Page<UserView>, DomainError> {
    let (after_email, after_id) = page.after::<(String, Uuid)>()?.unzip();
    let (_, results) = read_as(
        db,
        principal,
        Role::Admin,
        &[(PAGE_SQL.as_str(), &[&page.fetch(), &after_email, &after_id])],
    )
    .await?;
    let users: Vec<(UserView, String)> = results[0]
        .iter()
        .map(|row| (UserView::from(row), row.get(5)))
        .collect();
    let page = Page::keyset(users, page, |(user, key)| (key.clone(), user.id));
    Ok(page.map(|(user, _)| user))
}

pub async fn hash(password: NewPassword) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("hashing: {e}")))?
        .map_err(DomainError::Internal)
}
