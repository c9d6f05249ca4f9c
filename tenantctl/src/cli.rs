//! The command line, as clap sees it. Values that the tenancy core validates (slugs,
//! hosts, emails) stay strings here so that their errors come out in the same shape as
//! every other refusal, `--json` included.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tenantctl",
    version,
    about = "Provision Pactum tenants and migrate their schemas",
    long_about = "Provision Pactum tenants and migrate their schemas.\n\n\
        Exit codes: 0 success; 1 some tenant failed (or, with `status --check`, \
        something is behind); 2 usage, validation or connection error."
)]
pub struct Cli {
    /// PostgreSQL URL, e.g. postgres://user@host:5432/pactum
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// What sits in front of PostgreSQL at DATABASE_URL: `none`, or `transaction` for
    /// PgBouncer in transaction mode
    #[arg(long, env = "PACTUM_DB_POOLER", global = true, default_value = "none")]
    pub db_pooler: String,

    /// A URL straight to PostgreSQL, for what needs a session (the migration lock,
    /// reports). Required with `--db-pooler transaction`; otherwise DATABASE_URL
    #[arg(
        long,
        env = "PACTUM_DIRECT_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub direct_database_url: Option<String>,

    /// Print one JSON document on stdout instead of text (no progress bar)
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations: public first, then every tenant (and spare) that is behind
    Migrate(MigrateArgs),
    /// Create a tenant with its schema, primary domain and optionally its first admin
    ///
    /// The admin password is read from standard input (a prompt on a terminal), never
    /// from the command line.
    Create(CreateArgs),
    /// List tenants
    List,
    /// Show one tenant: registry entry, domains, schema version
    Show { slug: String },
    /// Compare every tenant's schema version with the one this build expects
    Status {
        /// Exit 1 when anything is behind: a deploy gate
        #[arg(long)]
        check: bool,
    },
    /// Add or remove a tenant's domains
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Suspend a tenant: its hosts answer 403 until resumed
    Suspend { slug: String },
    /// Resume a suspended tenant
    Resume { slug: String },
    /// Delete a tenant, its schema and all its data
    Delete {
        slug: String,
        /// Confirm the deletion; without it nothing is deleted
        #[arg(long)]
        yes: bool,
    },
    /// Add an admin user to a tenant (password from standard input)
    Createadmin {
        slug: String,
        #[arg(long)]
        email: String,
        /// Display name; defaults to the part of the email before '@'
        #[arg(long)]
        name: Option<String>,
    },
    /// Background jobs: list, inspect, retry, cancel, pause and resume
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Check stored files against the records that name them
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Whether PostgreSQL itself keeps tenants apart: the login role, every tenant
    /// role and schema's privileges, and a live probe as each tenant
    ///
    /// Run it with the URL the server uses. Exit 1 with --check on any finding.
    Isolation {
        /// Exit 1 when anything is found: a deploy gate
        #[arg(long)]
        check: bool,
    },
    /// Show the pool of pre-provisioned spare schemas, or top it up
    Spares {
        /// Build spares until the pool holds this many
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10_000))]
        fill: Option<u32>,
    },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Migrate the public schema only
    #[arg(long, conflicts_with = "tenant")]
    pub shared: bool,
    /// Migrate public, then this one tenant only
    #[arg(long, value_name = "SLUG")]
    pub tenant: Option<String>,
    /// How many tenant schemas to migrate at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Stop starting new tenants after the first failure
    #[arg(long)]
    pub fail_fast: bool,
    /// Show, per tenant, the migrations that would be applied; apply nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 2 at once if another migration is running, instead of waiting for it
    #[arg(long)]
    pub no_wait: bool,
    /// Give up on a tenant whose tables stay locked this long (milliseconds)
    #[arg(long, value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub lock_timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub slug: String,
    /// The tenant's primary host, e.g. acme.example.com
    #[arg(long)]
    pub domain: String,
    /// Display name; defaults to the slug
    #[arg(long)]
    pub name: Option<String>,
    /// Create an admin user with this email (password from standard input)
    #[arg(long)]
    pub admin_email: Option<String>,
    /// The admin's display name; defaults to the part of the email before '@'
    #[arg(long, requires = "admin_email")]
    pub admin_name: Option<String>,
    /// Build the schema from the migrations even when a spare is ready
    #[arg(long)]
    pub cold: bool,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first
    List {
        #[command(flatten)]
        filter: JobFilter,
        /// How many to show
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Show one job: arguments, every error, who ran it
    Show { id: i64 },
    /// Run a job again now (a failed, discarded, cancelled, scheduled or finished one)
    Retry { id: i64 },
    /// Cancel a job that has not finished
    Cancel { id: i64 },
    /// Stop workers from starting jobs: all of them, one queue's, or one tenant's
    Pause(PauseTarget),
    /// Undo a pause
    Resume(PauseTarget),
    /// Jobs by kind and state, the oldest wait, and what is paused
    Stats {
        /// Only this tenant's jobs
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct JobFilter {
    /// Only this tenant's jobs
    #[arg(long, value_name = "SLUG")]
    pub tenant: Option<String>,
    /// Only jobs of this kind, e.g. webhook.deliver
    #[arg(long)]
    pub kind: Option<String>,
    /// scheduled, available, held, running, retryable, completed, cancelled or discarded
    #[arg(long)]
    pub state: Option<String>,
    /// Only jobs of this queue
    #[arg(long)]
    pub queue: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PauseTarget {
    /// Every job
    #[arg(long)]
    pub all: bool,
    /// One queue's jobs
    #[arg(long, value_name = "QUEUE")]
    pub queue: Option<String>,
    /// One tenant's jobs
    #[arg(long, value_name = "SLUG")]
    pub tenant: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// List files without a record and records without their file, in the upload
    /// folder or the bucket (PACTUM_UPLOAD_DIR, PACTUM_STORAGE_*); exit 1 if any
    Check {
        /// Only this tenant
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a host to a tenant
    Add {
        slug: String,
        host: String,
        /// Make it the tenant's primary host
        #[arg(long)]
        primary: bool,
    },
    /// Remove a host (a tenant's last host cannot be removed)
    Remove { host: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
