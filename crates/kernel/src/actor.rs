//! Who acts and where from, without HTTP. A route turns a verified token into an
//! [`Actor`] by reading the user's *live* role in its own transaction; a job or a timer
//! acts as [`Actor::System`]. Services check roles and ownership on the actor and write
//! the [`Origin`] into the audit log.

use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::DomainError;

/// Roles, weakest first: each can do what the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Member,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Manager, Role::Admin];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }
}

/// Who asks, before their live role is known: a user signed in with a verified token, a
/// user on whose behalf work goes on, or Pactum itself. [`Actor::resolve`] turns it
/// into an [`Actor`] inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A user signed in with the access token `token` of their session `generation`: it
    /// acts only while the user is active, their sessions are still of that generation
    /// (a password change or a deactivation starts a new one) and the token has not
    /// been logged out.
    Session {
        user: Uuid,
        generation: i32,
        token: Uuid,
    },
    /// A user whose sign-in was already checked (earlier in the unit of work, or when
    /// the work they asked for was queued): it acts while the user is active.
    User(Uuid),
    System(&'static str),
}

impl Principal {
    /// The user's id; `None` for the system.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::Session { user, .. } | Self::User(user) => Some(*user),
            Self::System(_) => None,
        }
    }

    /// The session generation a user's token was minted in, when it came with one.
    pub fn session_generation(&self) -> Option<i32> {
        match self {
            Self::Session { generation, .. } => Some(*generation),
            Self::User(_) | Self::System(_) => None,
        }
    }

    /// The id of the access token the user came with, when they came with one.
    pub fn token_id(&self) -> Option<Uuid> {
        match self {
            Self::Session { token, .. } => Some(*token),
            Self::User(_) | Self::System(_) => None,
        }
    }
}

/// Who performs a unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A tenant user, with the role they hold right now (read in the unit of work's
    /// own transaction, so a demotion takes effect at once, not when a token expires).
    User { id: Uuid, role: Role },
    /// Pactum itself, acting for a job, a timer or an event reaction. It may do what an
    /// admin may; what it did is audited as the system's, naming `on_behalf_of`.
    System { on_behalf_of: &'static str },
}

impl Actor {
    pub fn system(on_behalf_of: &'static str) -> Self {
        Self::System { on_behalf_of }
    }

    /// The user `principal` names as an actor, from their row of
    /// `acting::ACTING_USER_SQL` (the live role is read in `acting`, by the unit's
    /// clock): refused (401, as for a bad token) unless they exist and are active and,
    /// when they came with a token, its session has not ended and it was not logged out.
    pub fn from_user_row(principal: &Principal, row: Option<&Row>) -> Result<Self, DomainError> {
        let user_id = principal.user_id().ok_or(DomainError::InvalidToken)?;
        let row = row.ok_or(DomainError::InvalidToken)?;
        let (role, active, granted, current, logged_out): (&str, bool, Vec<&str>, i32, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        let session_ended = principal
            .session_generation()
            .is_some_and(|generation| generation != current);
        if !active || session_ended || logged_out {
            return Err(DomainError::InvalidToken);
        }
        let mut strongest = Role::Viewer;
        for name in std::iter::once(role).chain(granted) {
            let role = Role::parse(name)
                .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("unknown role {name:?}")))?;
            strongest = strongest.max(role);
        }
        Ok(Self::User {
            id: user_id,
            role: strongest,
        })
    }

    /// The role the actor acts with; the system acts as an admin.
    pub fn role(&self) -> Role {
        match self {
            Self::User { role, .. } => *role,
            Self::System { .. } => Role::Admin,
        }
    }

    /// The user's id; `None` for the system.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::User { id, .. } => Some(*id),
            Self::System { .. } => None,
        }
    }

    /// Who this actor is, for a service that reads the live role itself.
    pub fn principal(&self) -> Principal {
        match self {
            Self::User { id, .. } => Principal::User(*id),
            Self::System { on_behalf_of } => Principal::System(on_behalf_of),
        }
    }

    /// Fails with 403 unless the actor holds at least `minimum`.
    pub fn require(&self, minimum: Role) -> Result<Role, DomainError> {
        let role = self.role();
        if role < minimum {
            return Err(DomainError::Forbidden(format!(
                "this needs the {} role",
                minimum.as_str()
            )));
        }
        Ok(role)
    }

    /// Managers (and the system) may change anything; members only what they own;
    /// viewers nothing.
    pub fn may_edit(&self, owner: Option<Uuid>) -> bool {
        let role = self.role();
        role >= Role::Manager
            || (role >= Role::Member && owner.is_some() && owner == self.user_id())
    }

    /// [`Actor::may_edit`], or a 403 saying who may.
    pub fn require_owner_or_manager(
        &self,
        owner: Option<Uuid>,
        what: &str,
    ) -> Result<(), DomainError> {
        if self.may_edit(owner) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "only its owner or a manager may change this {what}"
            )))
        }
    }

    /// How the audit log names the kind of actor.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::System { .. } => "system",
        }
    }
}

/// Longest user agent kept in the audit log.
pub const MAX_USER_AGENT_CHARS: usize = 500;

/// Where a unit of work came from, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An HTTP request: the client's address, user agent and the request id.
    Request {
        ip: Option<String>,
        user_agent: Option<String>,
        request_id: Option<String>,
    },
    /// A background job (or timer) of the given kind.
    Job { job_id: i64, kind: String },
}

impl Origin {
    pub fn job(job_id: i64, kind: impl Into<String>) -> Self {
        Self::Job {
            job_id,
            kind: kind.into(),
        }
    }

    pub fn ip(&self) -> Option<&str> {
        match self {
            Self::Request { ip, .. } => ip.as_deref(),
            Self::Job { .. } => None,
        }
    }

    pub fn user_agent(&self) -> Option<&str> {
        match self {
            Self::Request { user_agent, .. } => user_agent.as_deref(),
            Self::Job { .. } => None,
        }
    }

    /// The request id, or `job:<kind>:<id>` for a job, so one column traces both.
    pub fn trace_id(&self) -> Option<String> {
        match self {
            Self::Request { request_id, .. } => request_id.clone(),
            Self::Job { job_id, kind } => Some(format!("job:{kind}:{job_id}")),
        }
    }
}

/// A user named in a filter: `me` (the caller, who must be a user) or a user's id.
pub fn me_or_user(
    field: &str,
    text: &str,
    me: Option<uuid::Uuid>,
) -> Result<uuid::Uuid, DomainError> {
    match text {
        "me" => me.ok_or_else(|| DomainError::invalid(format!("{field}=me needs a user"))),
        id => id
            .parse()
            .map_err(|_| DomainError::invalid(format!("{field} is `me` or a user's id"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_their_own_names_and_order_weakest_first() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Viewer < Role::Member && Role::Manager < Role::Admin);
    }

    #[test]
    fn owners_and_managers_may_edit_and_the_system_may_do_anything() {
        let owner = Uuid::new_v4();
        let member = Actor::User {
            id: owner,
            role: Role::Member,
        };
        assert!(member.may_edit(Some(owner)));
        assert!(!member.may_edit(Some(Uuid::new_v4())));
        assert!(!member.may_edit(None));
        assert!(member.require(Role::Manager).is_err());
        let viewer = Actor::User {
            id: owner,
            role: Role::Viewer,
        };
        assert!(!viewer.may_edit(Some(owner)));
        let manager = Actor::User {
            id: Uuid::new_v4(),
            role: Role::Manager,
        };
        assert!(manager.may_edit(Some(owner)));
        let system = Actor::system("test");
        assert!(system.may_edit(None));
        assert_eq!(system.require(Role::Admin).unwrap(), Role::Admin);
        assert_eq!(system.user_id(), None);
    }

    #[test]
    fn a_job_origin_traces_to_its_job() {
        let origin = Origin::job(31, "sla");
        assert_eq!(origin.ip(), None);
        assert_eq!(origin.trace_id().unwrap(), "job:sla:31");
    }
}
