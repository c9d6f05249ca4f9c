//! The request pool's settings: what sits in front of PostgreSQL, and how tenants are
//! spread over connections and statements cached.

use std::str::FromStr;

/// A connection is retired once it has served this many tenant schemas, which bounds
/// the catalog cache its backend keeps (measured in docs/benchmarks.md, "Thousands of
/// tenants"). 2,000 tenants over a pool of 16 are 125 per home connection.
pub const MAX_SCHEMAS_PER_CONNECTION: usize = 512;
/// ... or cached this many statements (one per statement text and schema).
pub const MAX_CACHED_STATEMENTS: usize = 4_096;
/// A request whose tenant's home connection is busy, and that finds no idle connection
/// its schema is warm on or with room for it, queues at its home while fewer than this
/// many already do, else for any connection (the default of `PACTUM_DB_HOME_QUEUE`).
/// Sixteen: at 2,000 tenants over 16 connections a limit of four sent one checkout in
/// six elsewhere, each building a schema's catalog in one more backend (measured in
/// docs/benchmarks.md, "Thousands of tenants").
pub const HOME_QUEUE_LIMIT: usize = 16;
/// An idle connection whose backend has served fewer schemas than this takes the
/// request of any tenant whose home is busy. With few tenants (or one busy one) that
/// spreads them over every connection, as a plain pool would, for about 100 KiB of
/// catalog per schema and backend; with thousands, every backend soon holds more than
/// this of its own tenants, and a request goes only where its schema is already warm.
pub const GUEST_ROOM: usize = 64;
/// The most `PACTUM_DB_HOME_QUEUE` may be: more would only mean "never spill".
pub const MAX_HOME_QUEUE_LIMIT: usize = 1_024;

/// What sits between Pactum and PostgreSQL, from `PACTUM_DB_POOLER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Pactum's connections are PostgreSQL backends (or a session-mode pooler's).
    #[default]
    None,
    /// A transaction-mode pooler (PgBouncer `pool_mode = transaction`): consecutive
    /// transactions may run on different server connections.
    Transaction,
}

impl Pooler {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Transaction => "transaction",
        }
    }
}

impl FromStr for Pooler {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim() {
            "none" => Ok(Self::None),
            "transaction" => Ok(Self::Transaction),
            other => Err(format!(
                "must be `none` or `transaction`, not `{}`",
                other.escape_debug()
            )),
        }
    }
}

/// How the request pool spreads tenants and caches statements. Both on by default; the
/// settings exist so that the alternatives can be measured against each other
/// (`scripts/bench-tenants.sh`) and so that an operator short of backend memory can
/// trade plans for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStrategy {
    /// Each tenant prefers a home connection (`PACTUM_DB_TENANT_AFFINITY`).
    pub tenant_affinity: bool,
    /// Statements are cached per schema, not per text only
    /// (`PACTUM_DB_STATEMENTS_PER_SCHEMA`).
    pub statements_per_schema: bool,
    /// In direct mode, cached statements run the plan made once for them
    /// (`plan_cache_mode = force_generic_plan` for the connection,
    /// `PACTUM_DB_GENERIC_PLANS`). PostgreSQL's default plans each execution again with
    /// its values whenever it judges that plan cheaper, which for the lists (a status,
    /// a limit) is nearly always: planning then reads the size of the table and of
    /// every index of it, in the tenant's schema, on every request. The lists are built
    /// to read only their matches in a generic plan (`tests/api/paging.rs`).
    pub generic_plans: bool,
    /// A connection that has served more schemas than this is retired at its next
    /// checkout ([`MAX_SCHEMAS_PER_CONNECTION`]).
    pub max_schemas_per_connection: usize,
    /// How many may wait at a tenant's busy home connection before the next goes to
    /// any connection (`PACTUM_DB_HOME_QUEUE`, [`HOME_QUEUE_LIMIT`]).
    pub home_queue_limit: usize,
    /// Below how many schemas served a backend takes other tenants' requests when idle
    /// ([`GUEST_ROOM`]).
    pub guest_room: usize,
}

impl Default for PoolStrategy {
    fn default() -> Self {
        Self {
            tenant_affinity: true,
            statements_per_schema: true,
            generic_plans: true,
            max_schemas_per_connection: MAX_SCHEMAS_PER_CONNECTION,
            home_queue_limit: HOME_QUEUE_LIMIT,
            guest_room: GUEST_ROOM,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooler_setting_names_its_values() {
        assert_eq!("none".parse::<Pooler>(), Ok(Pooler::None));
        assert_eq!(" transaction ".parse::<Pooler>(), Ok(Pooler::Transaction));
        let refused = "session".parse::<Pooler>().unwrap_err();
        assert!(refused.contains("`none` or `transaction`"), "{refused}");
    }
}
