//! Reading and locking rows on behalf of an actor: the role check travels in the same
//! round trip as the reads, and "no such row" becomes a 404 naming what was missing.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use super::acting::ACTING_USER_SQL;
use super::actor::{Actor, Principal, Role};
use super::error::DomainError;
use super::unit;
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// Reads as `principal`, in one round trip: checks that they are, right now, active
/// with at least `minimum`, and returns the actor and each statement's rows in order.
pub async fn read_as(
    db: &TenantDb,
    principal: &Principal,
    minimum: Role,
    statements: &[(&str, &[&(dyn ToSql + Sync)])],
) -> Result<(Actor, Vec<Vec<Row>>), DomainError> {
    match principal {
        Principal::Session { user: user_id, .. } | Principal::User(user_id) => {
            let now = unit::now_for(db);
            let token = principal.token_id();
            let acting: [&(dyn ToSql + Sync); 3] = [user_id, &now, &token];
            let mut all = Vec::with_capacity(statements.len() + 1);
            all.push((ACTING_USER_SQL, &acting[..]));
            all.extend_from_slice(statements);
            let mut results = db.read(&all).await?;
            let actor = Actor::from_user_row(principal, results[0].first())?;
            actor.require(minimum)?;
            results.remove(0);
            Ok((actor, results))
        }
        Principal::System(on_behalf_of) => {
            Ok((Actor::system(on_behalf_of), db.read(statements).await?))
        }
    }
}

/// The one row `sql` (taking the id as `$1`) finds, as a view, for a caller with at
/// least the `minimum` role; a 404 naming `what` when there is none.
pub async fn read_one_as<T: for<'a> From<&'a Row>>(
    db: &TenantDb,
    principal: &Principal,
    minimum: Role,
    sql: &str,
    id: Uuid,
    what: &'static str,
) -> Result<T, DomainError> {
    let (_, results) = read_as(db, principal, minimum, &[(sql, &[&id])]).await?;
    results[0]
        .first()
        .map(T::from)
        .ok_or(DomainError::Missing(what))
}

/// Loads the row `sql` (`... where id = $1 for update`) finds, locked for the rest of
/// the transaction, as a view; a 404 naming `what` when there is none.
pub async fn lock_row<T: for<'a> From<&'a Row>>(
    tx: &TenantTx,
    sql: &str,
    id: Uuid,
    what: &'static str,
) -> Result<T, DomainError> {
    tx.query_opt(sql, &[&id])
        .await?
        .map(|row| T::from(&row))
        .ok_or(DomainError::Missing(what))
}

/// [`lock_row`], for an actor who may change the row: a manager, or a member who holds
/// it in one of the ways `holders` lists (created it, owns it, is assigned it); a 403
/// saying `refusal` otherwise.
pub async fn lock_held<T: for<'a> From<&'a Row>>(
    tx: &TenantTx,
    actor: &Actor,
    sql: &str,
    id: Uuid,
    what: &'static str,
    holders: impl Fn(&T) -> Vec<Option<Uuid>>,
    refusal: &str,
) -> Result<T, DomainError> {
    actor.require(Role::Member)?;
    let row: T = lock_row(tx, sql, id, what).await?;
    if holders(&row)
        .into_iter()
        .any(|holder| actor.may_edit(holder))
    {
        Ok(row)
    } else {
        Err(DomainError::Forbidden(refusal.to_owned()))
    }
}

/// Deletes the row `sql` (`delete ... where id = $1 returning ...`) names and returns
/// it; a 404 naming `what` when there is none, a 409 when other rows still refer to it.
pub async fn delete_row(
    tx: &TenantTx,
    sql: &str,
    id: Uuid,
    what: &'static str,
) -> Result<Row, DomainError> {
    tx.query_opt(sql, &[&id])
        .await
        .map_err(DomainError::write)?
        .ok_or(DomainError::Missing(what))
}

/// One unit of work as `principal`: opens a transaction on the tenant's schema, resolves
/// the actor in it (a user's live role), runs `work`, and commits when it succeeds
/// (dropped on failure, the transaction rolls back). What a route and a job both do
/// around a service call.
pub async fn as_actor<T>(
    db: &TenantDb,
    principal: &Principal,
    work: impl AsyncFnOnce(&TenantTx, &Actor) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let tx = db.begin().await?;
    let actor = Actor::resolve(&tx, principal).await?;
    let out = work(&tx, &actor).await?;
    tx.commit().await?;
    Ok(out)
}

/// Refuses `user` (named by the input field `field`) unless it is an active user of the
/// tenant; `None` passes. What every "owner" and "assignee" field checks.
pub async fn require_active_user(
    tx: &TenantTx,
    field: &str,
    user: Option<Uuid>,
) -> Result<(), DomainError> {
    let ok: bool = tx
        .query_one(
            "select $1::uuid is null or exists(select 1 from users where id = $1 and active)",
            &[&user],
        )
        .await
        .map_err(DomainError::database)?
        .get(0);
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(format!(
            "{field} is not an active user of this tenant"
        )))
    }
}
