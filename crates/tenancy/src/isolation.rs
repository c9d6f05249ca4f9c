//! `tenantctl isolation --check`: whether PostgreSQL itself keeps tenants apart, read
//! from the catalogs and then tried.
//!
//! Run it with the URL the server uses: it reports on the role it connects as (a
//! superuser or a `BYPASSRLS` role is not held by any of this), checks that every tenant
//! schema's privileges are exactly its owner's and its tenant role's, that every tenant
//! role is as small as it should be, and then probes: as each tenant's role it reads its
//! own schema (which must work) and the next tenant's (which PostgreSQL must refuse).

use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::names::SchemaName;
use super::roles::{RoleName, SERVER_GROUP, TENANT_GROUP};
use super::TenancyError;

/// One thing that is not as it should be.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// A stable code: `login_superuser`, `login_bypasses_row_security`,
    /// `login_owns_tenant_schemas`, `group_missing`,
    /// `no_role`, `role_missing`, `role_too_powerful`, `role_memberships`,
    /// `schema_owned_by_tenant_role`, `schema_privileges`, `table_privileges`,
    /// `privileges_missing`, `public_privileges`, `probe_own_schema_refused`,
    /// `probe_other_schema_readable`, `probe_other_tenant_rows_visible`.
    pub code: &'static str,
    /// The tenant it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IsolationReport {
    /// The role this check connected as: the one a server with the same URL runs as.
    pub login_role: String,
    pub login_superuser: bool,
    pub login_bypasses_row_security: bool,
    pub tenants: usize,
    /// Tenants whose role was tried against its own schema and another's.
    pub probed: usize,
    pub findings: Vec<Finding>,
}

impl IsolationReport {
    pub fn clean(&self) -> bool {
        self.findings.is_empty()
    }
}

struct TenantRow {
    id: uuid::Uuid,
    slug: String,
    schema: SchemaName,
    role: Option<RoleName>,
}

/// Reads the catalogs and probes; see the module's description.
pub async fn check(client: &mut Client) -> Result<IsolationReport, TenancyError> {
    let login = client
        .query_one(
            "select current_user::text, rolsuper, rolbypassrls from pg_roles \
             where rolname = current_user",
            &[],
        )
        .await?;
    let mut report = IsolationReport {
        login_role: login.get(0),
        login_superuser: login.get(1),
        login_bypasses_row_security: login.get(2),
        tenants: 0,
        probed: 0,
        findings: Vec::new(),
    };
    let mut findings = Vec::new();
    let mut finding = |code, tenant: Option<&str>, detail: String| {
        findings.push(Finding {
            code,
            tenant: tenant.map(str::to_owned),
            detail,
        });
    };
    if report.login_superuser {
        finding(
            "login_superuser",
            None,
            format!(
                "{} is a superuser: nothing the database enforces holds for it; connect the \
                 server as a login role in {SERVER_GROUP} instead",
                report.login_role
            ),
        );
    }
    if report.login_bypasses_row_security {
        finding(
            "login_bypasses_row_security",
            None,
            format!("{} has BYPASSRLS", report.login_role),
        );
    }
    let owned: i64 = client
        .query_one(
            "select count(*) from public.tenants t \
             join pg_namespace n on n.nspname = t.schema_name \
             where n.nspowner = (select oid from pg_roles where rolname = current_user)",
            &[],
        )
        .await?
        .get(0);
    if owned > 0 {
        finding(
            "login_owns_tenant_schemas",
            None,
            format!(
                "{} owns {owned} tenant schemas: it holds their data without becoming \
                 their role; connect the server as another login role in {SERVER_GROUP}",
                report.login_role
            ),
        );
    }
    for group in [TENANT_GROUP, SERVER_GROUP] {
        let exists = client
            .query_opt("select 1 from pg_roles where rolname = $1", &[&group])
            .await?
            .is_some();
        if !exists {
            finding(
                "group_missing",
                None,
                format!("role {group} does not exist: run tenantctl migrate"),
            );
        }
    }

    let tenants = tenants(client).await?;
    for tenant in &tenants {
        for (code, detail) in catalog_findings(client, tenant).await? {
            finding(code, Some(&tenant.slug), detail);
        }
    }
    for row in client
        .query(
            "select c.relname::text, a.grantee::regrole::text from pg_class c \
               cross join lateral aclexplode(c.relacl) a \
             where c.relnamespace = 'public'::regnamespace and a.grantee <> 0 \
               and a.grantee::regrole::text ~ $1",
            &[&super::roles::NAME_PATTERN],
        )
        .await?
    {
        let (table, grantee): (String, String) = (row.get(0), row.get(1));
        finding(
            "public_privileges",
            None,
            format!("tenant role {grantee} holds privileges on public.{table} of its own"),
        );
    }
    report.tenants = tenants.len();
    report.findings = findings;

    for (index, tenant) in tenants.iter().enumerate() {
        let Some(role) = &tenant.role else { continue };
        let other = (tenants.len() > 1).then(|| &tenants[(index + 1) % tenants.len()]);
        for (code, detail) in probe(client, tenant, role, other).await? {
            report.findings.push(Finding {
                code,
                tenant: Some(tenant.slug.clone()),
                detail,
            });
        }
        report.probed += 1;
    }
    Ok(report)
}

async fn tenants(client: &Client) -> Result<Vec<TenantRow>, TenancyError> {
    let rows = client
        .query(
            "select id, slug, schema_name, role_name from public.tenants \
             where status <> 'deleting' order by slug",
            &[],
        )
        .await?;
    let mut tenants = Vec::with_capacity(rows.len());
    for row in rows {
        let schema: &str = row.get(2);
        let Some(schema) = SchemaName::from_stored(schema) else {
            return Err(TenancyError::Other(anyhow::anyhow!(
                "the registry holds an invalid schema name {schema:?}"
            )));
        };
        tenants.push(TenantRow {
            id: row.get(0),
            slug: row.get(1),
            schema,
            role: row
                .get::<_, Option<&str>>(3)
                .and_then(RoleName::from_stored),
        });
    }
    Ok(tenants)
}

/// What the catalogs say about one tenant's role and schema.
async fn catalog_findings(
    client: &Client,
    tenant: &TenantRow,
) -> Result<Vec<(&'static str, String)>, TenancyError> {
    let mut found = Vec::new();
    let Some(role) = &tenant.role else {
        found.push((
            "no_role",
            format!(
                "schema {} has no tenant role: run tenantctl migrate",
                tenant.schema
            ),
        ));
        return Ok(found);
    };
    let Some(attributes) = client
        .query_opt(
            "select rolsuper or rolbypassrls or rolcanlogin or rolcreaterole or rolcreatedb, \
                    array(select b.rolname::text from pg_auth_members m \
                          join pg_roles b on b.oid = m.roleid where m.member = r.oid order by 1) \
             from pg_roles r where r.rolname = $1",
            &[&role.as_str()],
        )
        .await?
    else {
        found.push(("role_missing", format!("role {role} does not exist")));
        return Ok(found);
    };
    if attributes.get::<_, bool>(0) {
        found.push((
            "role_too_powerful",
            format!("role {role} can log in, create, or is exempt from checks"),
        ));
    }
    let memberships: Vec<String> = attributes.get(1);
    if memberships != [TENANT_GROUP] {
        found.push((
            "role_memberships",
            format!("role {role} is a member of {memberships:?}, expected only {TENANT_GROUP}"),
        ));
    }
    let schema = client
        .query_one(
            "select n.nspowner::regrole::text, n.nspowner = $2::text::regrole, \
                    array(select coalesce(nullif(a.grantee, 0)::regrole::text, 'PUBLIC') \
                          from aclexplode(n.nspacl) a \
                          where a.grantee not in (n.nspowner, $2::text::regrole) order by 1), \
                    has_schema_privilege($2::text, n.oid, 'USAGE') \
             from pg_namespace n where n.nspname = $1",
            &[&tenant.schema.as_str(), &role.as_str()],
        )
        .await?;
    if schema.get::<_, bool>(1) {
        found.push((
            "schema_owned_by_tenant_role",
            format!("schema {} is owned by its tenant role", tenant.schema),
        ));
    }
    let strangers: Vec<String> = schema.get(2);
    if !strangers.is_empty() {
        found.push((
            "schema_privileges",
            format!(
                "schema {} grants privileges to {strangers:?}",
                tenant.schema
            ),
        ));
    }
    if !schema.get::<_, bool>(3) {
        found.push((
            "privileges_missing",
            format!("role {role} has no usage on schema {}", tenant.schema),
        ));
    }
    for row in client
        .query(
            "select c.relname::text, \
                    array(select coalesce(nullif(a.grantee, 0)::regrole::text, 'PUBLIC') \
                          from aclexplode(c.relacl) a \
                          where a.grantee not in (c.relowner, $2::text::regrole) order by 1), \
                    case c.relkind when 'S' then has_sequence_privilege($2::text, c.oid, 'USAGE') \
                         else has_table_privilege($2::text, c.oid, 'SELECT, INSERT, UPDATE, DELETE') end \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') \
             order by 1",
            &[&tenant.schema.as_str(), &role.as_str()],
        )
        .await?
    {
        let (table, strangers, usable): (String, Vec<String>, bool) =
            (row.get(0), row.get(1), row.get(2));
        if !strangers.is_empty() {
            found.push((
                "table_privileges",
                format!(
                    "{}.{table} grants privileges to {strangers:?}",
                    tenant.schema
                ),
            ));
        }
        if !usable {
            found.push((
                "privileges_missing",
                format!("role {role} cannot use {}.{table}", tenant.schema),
            ));
        }
    }
    Ok(found)
}

/// As `role`: its own schema must answer, `other`'s must be refused, and no other
/// tenant's job rows may be visible.
async fn probe(
    client: &mut Client,
    tenant: &TenantRow,
    role: &RoleName,
    other: Option<&TenantRow>,
) -> Result<Vec<(&'static str, String)>, TenancyError> {
    let mut found = Vec::new();
    let mut tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "set local search_path to {}, public; set local role {}",
        tenant.schema.quoted(),
        role.quoted()
    ))
    .await?;
    let own = tx.savepoint("own").await?;
    if let Err(error) = own.query("select count(*) from users", &[]).await {
        found.push((
            "probe_own_schema_refused",
            format!("as {role}, reading {}.users: {error}", tenant.schema),
        ));
    }
    own.rollback().await?;
    if let Some(other) = other {
        let attempt = tx.savepoint("other").await?;
        match attempt
            .query(
                &format!("select count(*) from {}.users", other.schema.quoted()),
                &[],
            )
            .await
        {
            Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {}
            Err(error) => found.push((
                "probe_other_schema_readable",
                format!(
                    "as {role}, reading {}.users failed, but not for want of privilege: {error}",
                    other.schema
                ),
            )),
            Ok(_) => found.push((
                "probe_other_schema_readable",
                format!("as {role}, {}.users could be read", other.schema),
            )),
        }
        attempt.rollback().await?;
    }
    let visible = tx.savepoint("rows").await?;
    match visible
        .query_one(
            "select (select count(*) from public.jobs where tenant_id <> $1) \
                  + (select count(*) from public.tenants where id <> $1)",
            &[&tenant.id],
        )
        .await
    {
        Ok(row) if row.get::<_, i64>(0) == 0 => {}
        Ok(row) => found.push((
            "probe_other_tenant_rows_visible",
            format!(
                "as {role}, {} rows of other tenants are visible in public.jobs and public.tenants",
                row.get::<_, i64>(0)
            ),
        )),
        Err(error) => found.push((
            "probe_own_schema_refused",
            format!("as {role}, reading its rows in public: {error}"),
        )),
    }
    visible.rollback().await?;
    tx.rollback().await?;
    Ok(found)
}
