//! Who acts, read live in the unit of work: the user's own role, active flag, session
//! and temporary grants, with a grant's expiry judged by the unit's clock (the one the
//! grant was made by and its lapse timer runs on), never by the database machine's.

use chrono::{DateTime, Utc};

use super::actor::{Actor, Principal, Role};
use super::error::DomainError;
use super::unit;
use crate::tenancy::scoped::TenantTx;

/// The acting user's own role, active flag, live temporary grants (`$1` the user, `$2`
/// now by the unit's clock), session generation, and whether the access token they
/// came with (`$3`, null for none) was logged out, for [`Actor::from_user_row`], which
/// acts with the strongest of the roles. Reads fetch it in the same round trip as
/// their own statements, so it runs on every request: the grants come back as a plain
/// array (an index probe that finds nothing for most users) rather than being ranked
/// in SQL, which cost PostgreSQL three times as much per request, and the logout is an
/// index probe of a table that holds only tokens logged out and not yet expired.
pub const ACTING_USER_SQL: &str =
    "select u.role, u.active, array(select g.role from role_grants g \
        where g.user_id = u.id and g.ended_at is null and g.expires_at > $2), \
        u.session_generation, \
        exists(select 1 from revoked_access_tokens r where r.token_id = $3) \
    from users u where u.id = $1";

impl Actor {
    /// The principal as an actor, with a user's live role read in `tx`.
    pub async fn resolve(tx: &TenantTx, principal: &Principal) -> Result<Self, DomainError> {
        match principal {
            Principal::Session { .. } | Principal::User(_) => Self::load(tx, principal).await,
            Principal::System(on_behalf_of) => Ok(Self::system(on_behalf_of)),
        }
    }

    /// [`Actor::resolve`], then [`Actor::require`]: the actor if they hold at least
    /// `minimum` right now.
    pub async fn acting(
        tx: &TenantTx,
        principal: &Principal,
        minimum: Role,
    ) -> Result<Self, DomainError> {
        let actor = Self::resolve(tx, principal).await?;
        actor.require(minimum)?;
        Ok(actor)
    }

    /// The user `principal` names as an actor, as [`Actor::from_user_row`] judges.
    async fn load(tx: &TenantTx, principal: &Principal) -> Result<Self, DomainError> {
        let now: DateTime<Utc> = unit::now(tx);
        let row = tx
            .query_opt(
                ACTING_USER_SQL,
                &[&principal.user_id(), &now, &principal.token_id()],
            )
            .await?;
        Self::from_user_row(principal, row.as_ref())
    }
}
