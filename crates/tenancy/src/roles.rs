//! A PostgreSQL role per tenant schema: the database itself refuses a unit of work
//! that reaches into another tenant's schema, whatever SQL the layers above send.
//!
//! - Every tenant schema (and every spare) has a `NOLOGIN` role of its own with
//!   `USAGE` on that schema and the data privileges on its tables and sequences, and
//!   nothing on any other tenant's. Its name is in the registry (`role_name`), so a
//!   spare keeps its role when it is claimed and renamed.
//! - Every unit of work opens with `SET LOCAL ROLE` beside its `SET LOCAL search_path`,
//!   in the same message: it dies with the transaction, so it holds behind PgBouncer in
//!   transaction mode as the search path does.
//! - `pactum_tenant` is the group of all tenant roles: what a unit of work may do in
//!   `public` (enqueue jobs, read its own registry row), each table with row security
//!   so that a tenant role sees its own tenant's rows only.
//! - `pactum_server` is what the server's login role is a member of: the public tables,
//!   and membership in every tenant role (so it may `SET ROLE` to them). It is
//!   `NOINHERIT`, so a login role that is its member gets none of the tenants' data
//!   privileges without becoming a tenant role first. A server connecting as such a
//!   login role (not a superuser, not `BYPASSRLS`) can do nothing in a tenant's schema
//!   but as that tenant.
//!
//! Role names are cluster-wide while schemas are per database, so a name carries the
//! database's oid (`pactum_t<oid>_<16 hex>`): the same slug in two databases of one
//! cluster never shares a role, and a role whose database is gone can be told.

use serde::Serialize;
use tokio_postgres::GenericClient;

use super::citus::Cluster;
use super::names::SchemaName;
use super::TenancyError;

/// The group every tenant role belongs to (see the module's description).
pub const TENANT_GROUP: &str = "pactum_tenant";
/// The group a server's login role belongs to (see the module's description).
pub const SERVER_GROUP: &str = "pactum_server";

const ROLE_PREFIX: &str = "pactum_t";

/// A tenant role's name, valid by construction: safe to splice into SQL quoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RoleName(String);

impl RoleName {
    /// A new name for a role in the database whose oid is `database_oid`.
    pub fn generate(database_oid: u32) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("{ROLE_PREFIX}{database_oid}_{}", &random[..16]))
    }

    /// Re-validates a name read back from the registry or the catalog. Only names
    /// [`RoleName::generate`] could have produced are accepted.
    pub fn from_stored(value: &str) -> Option<Self> {
        let (oid, random) = value.strip_prefix(ROLE_PREFIX)?.split_once('_')?;
        let valid = !oid.is_empty()
            && oid.len() <= 10
            && oid.bytes().all(|b| b.is_ascii_digit())
            && oid.parse::<u32>().is_ok()
            && random.len() == 16
            && random
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(value.to_owned()))
    }

    /// The oid of the database the role was made for.
    pub fn database_oid(&self) -> u32 {
        let digits = &self.0[ROLE_PREFIX.len()..];
        let end = digits.find('_').unwrap_or(digits.len());
        digits[..end].parse().unwrap_or(0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As an identifier. The name holds only `[a-z0-9_]`, so the quotes are all it needs.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// What every tenant role's name matches, as a PostgreSQL regular expression.
pub const NAME_PATTERN: &str = "^pactum_t[0-9]{1,10}_[0-9a-f]{16}$";

/// Lists the tenant roles of databases that no longer exist in this cluster: a
/// database dropped whole takes its schemas and grants with it but not its roles,
/// which are cluster-wide. Nothing else is listed, so dropping them all is safe.
pub const ORPHANS_SQL: &str = "select rolname from pg_roles \
     where rolname ~ '^pactum_t[0-9]{1,10}_[0-9a-f]{16}$' \
       and substring(rolname from '^pactum_t([0-9]+)_')::oid not in (select oid from pg_database) \
     order by 1";

/// The statement that reads the current database's oid, for [`RoleName::generate`].
pub const DATABASE_OID_SQL: &str =
    "(select oid from pg_database where datname = current_database())::text";

/// Reads the current database's oid.
pub async fn database_oid(client: &impl GenericClient) -> Result<u32, TenancyError> {
    let oid: String = client
        .query_one(&format!("select {DATABASE_OID_SQL}"), &[])
        .await?
        .get(0);
    oid.parse()
        .map_err(|_| TenancyError::Other(anyhow::anyhow!("database oid {oid:?} is not a number")))
}

/// The statements that make `role` and put it in its groups. [`grant`] then gives it
/// the schema.
pub fn create_script(role: &RoleName) -> String {
    format!(
        "create role {role} nologin;\n\
         grant {TENANT_GROUP} to {role};\n\
         grant {role} to {SERVER_GROUP};\n",
        role = role.quoted(),
    )
}

/// The tables (and views) and sequences of a schema, each as a quoted, qualified name,
/// sequences flagged. Found through `pg_depend`'s index, since every relation depends
/// on its namespace: `GRANT ... ON ALL TABLES IN SCHEMA` scans all of `pg_class` once
/// per kind of table, a cost that grows with every tenant in the database (180 ms per
/// schema at 1,000 tenants, against 3 ms listing and naming them;
/// `scripts/bench-tenant-grants.sh`).
const RELATIONS_SQL: &str = "select c.relkind = 'S', format('%I.%I', n.nspname, c.relname) \
     from pg_namespace n \
     join pg_depend d on d.refclassid = 'pg_namespace'::regclass and d.refobjid = n.oid \
         and d.classid = 'pg_class'::regclass and d.deptype = 'n' \
     join pg_class c on c.oid = d.objid \
     where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') \
     order by 2";

/// Gives `role` what it holds on `schema`: usage, the data privileges on every table
/// and sequence the schema has now. Run after anything that adds tables, so new tables
/// are the tenant role's as the old ones are. Idempotent.
pub async fn grant(
    client: &impl GenericClient,
    cluster: Cluster,
    role: &RoleName,
    schema: &SchemaName,
) -> Result<(), tokio_postgres::Error> {
    let (mut tables, mut sequences) = (Vec::new(), Vec::new());
    for row in client.query(RELATIONS_SQL, &[&schema.as_str()]).await? {
        let name: String = row.get(1);
        if row.get::<_, bool>(0) {
            sequences.push(name);
        } else {
            tables.push(name);
        }
    }
    let role = role.quoted();
    let mut script = format!("grant usage on schema {} to {role};\n", schema.quoted());
    if !tables.is_empty() {
        script.push_str(&format!(
            "grant select, insert, update, delete on table {} to {role};\n",
            tables.join(", ")
        ));
    }
    if !sequences.is_empty() {
        script.push_str(&format!(
            "grant usage, select, update on sequence {} to {role};\n",
            sequences.join(", ")
        ));
    }
    cluster.execute_script(client, &script).await
}

/// Drops `role` and whatever it still holds in this database. Its grants on a schema
/// that was dropped went with the schema; this clears anything else (default
/// privileges, a grant made by hand) first, or `DROP ROLE` would refuse.
pub async fn drop_role(
    client: &impl GenericClient,
    cluster: Cluster,
    role: &RoleName,
) -> Result<(), tokio_postgres::Error> {
    let exists = client
        .query_opt(
            "select 1 from pg_roles where rolname = $1",
            &[&role.as_str()],
        )
        .await?
        .is_some();
    if !exists {
        return Ok(());
    }
    cluster
        .execute_script(
            client,
            &format!(
                "drop owned by {role};\ndrop role {role};",
                role = role.quoted()
            ),
        )
        .await
}

/// Gives a role to every tenant and spare that has none (schemas built before tenant
/// roles existed). Returns how many it made. Each in its own transaction with the
/// registry row locked, so a concurrent delete or claim is waited for.
pub async fn give_missing(
    client: &mut tokio_postgres::Client,
    cluster: Cluster,
) -> Result<usize, TenancyError> {
    let missing = client
        .query(
            "select 'tenant', schema_name from public.tenants \
                 where role_name is null and status <> 'deleting' \
             union all select 'spare', schema_name from public.spare_schemas \
                 where role_name is null order by 2",
            &[],
        )
        .await?;
    if missing.is_empty() {
        return Ok(0);
    }
    let oid = database_oid(&*client).await?;
    let mut made = 0;
    for row in missing {
        let (kind, stored): (&str, &str) = (row.get(0), row.get(1));
        let Some(schema) = SchemaName::from_stored(stored) else {
            continue;
        };
        let table = if kind == "tenant" {
            "public.tenants"
        } else {
            "public.spare_schemas"
        };
        let tx = client.transaction().await?;
        let still_missing = tx
            .query_opt(
                &format!(
                    "select 1 from {table} where schema_name = $1 and role_name is null \
                     for update skip locked"
                ),
                &[&schema.as_str()],
            )
            .await?
            .is_some();
        if !still_missing {
            continue;
        }
        let role = RoleName::generate(oid);
        cluster.execute_script(&tx, &create_script(&role)).await?;
        grant(&tx, cluster, &role, &schema).await?;
        tx.execute(
            &format!("update {table} set role_name = $2 where schema_name = $1"),
            &[&schema.as_str(), &role.as_str()],
        )
        .await?;
        tx.commit().await?;
        made += 1;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_read_back_and_carry_their_database() {
        let role = RoleName::generate(16_384);
        assert_eq!(RoleName::from_stored(role.as_str()), Some(role.clone()));
        assert_eq!(role.database_oid(), 16_384);
        assert!(role.as_str().len() <= 63, "{role}");
        let largest = RoleName::generate(u32::MAX);
        assert_eq!(largest.database_oid(), u32::MAX);
        assert!(largest.as_str().len() <= 63);
    }

    #[test]
    fn only_generated_names_are_accepted() {
        for bad in [
            "postgres",
            "pactum_tenant",
            "pactum_server",
            "pactum_t_0123456789abcdef",
            "pactum_t16384_0123456789abcde",
            "pactum_t16384_0123456789abcdef0",
            "pactum_t16384_0123456789ABCDEF",
            "pactum_t99999999999_0123456789abcdef",
            "pactum_t1\"_0123456789abcdef",
            "pactum_t16384_01234567\"9abcdef",
        ] {
            assert!(RoleName::from_stored(bad).is_none(), "{bad}");
        }
    }
}
