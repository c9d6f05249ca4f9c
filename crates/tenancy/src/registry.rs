//! The tenant registry in `public`: look-ups and the small changes operators make.

use super::connection::{PooledConnection, Scope};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Row};
use uuid::Uuid;

use super::error::map_unique_violation;
use super::names::{Host, SchemaName, TenantSlug};
use super::roles::RoleName;
use super::TenancyError;

/// A tenant's id. A newtype, so it cannot be confused with a user's or contract's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Provisioning,
    Active,
    Suspended,
    Deleting,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleting => "deleting",
        }
    }

    fn parse(value: &str) -> Result<Self, TenancyError> {
        Ok(match value {
            "provisioning" => Self::Provisioning,
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            "deleting" => Self::Deleting,
            other => {
                return Err(TenancyError::Other(anyhow::anyhow!(
                    "unknown tenant status {other:?} in the registry"
                )))
            }
        })
    }
}

impl std::fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub schema: SchemaName,
    pub status: TenantStatus,
    pub schema_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The PostgreSQL role its units of work run as; `None` only for a tenant built
    /// before tenant roles, until `tenantctl migrate` gives it one.
    pub role: Option<RoleName>,
}

/// The column list every tenant query selects, in the order [`Tenant::from_row`] reads.
pub(crate) const TENANT_COLUMNS: &str = "t.id, t.slug, t.name, t.schema_name, t.status, \
     t.schema_version, t.created_at, t.updated_at, t.role_name";

impl Tenant {
    pub(crate) fn from_row(row: &Row) -> Result<Self, TenancyError> {
        let slug: String = row.get(1);
        let schema: String = row.get(3);
        let status: String = row.get(4);
        Ok(Self {
            id: TenantId(row.get(0)),
            slug: TenantSlug::parse(&slug)?,
            name: row.get(2),
            schema: SchemaName::from_stored(&schema).ok_or_else(|| {
                TenancyError::Other(anyhow::anyhow!("registry holds an invalid schema name"))
            })?,
            status: TenantStatus::parse(&status)?,
            schema_version: row.get(5),
            created_at: row.get(6),
            updated_at: row.get(7),
            role: row
                .get::<_, Option<&str>>(8)
                .map(|name| {
                    RoleName::from_stored(name).ok_or_else(|| {
                        TenancyError::Other(anyhow::anyhow!("registry holds an invalid role name"))
                    })
                })
                .transpose()?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Domain {
    pub host: Host,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
}

/// A tenant as `tenantctl list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantSummary {
    #[serde(flatten)]
    pub tenant: Tenant,
    pub primary_host: Option<String>,
}

pub async fn find_by_slug(
    client: &impl GenericClient,
    slug: &TenantSlug,
) -> Result<Option<Tenant>, TenancyError> {
    let sql = format!("select {TENANT_COLUMNS} from public.tenants t where t.slug = $1");
    client
        .query_opt(&sql, &[&slug.as_str()])
        .await?
        .as_ref()
        .map(Tenant::from_row)
        .transpose()
}

pub async fn get_by_slug(
    client: &impl GenericClient,
    slug: &TenantSlug,
) -> Result<Tenant, TenancyError> {
    find_by_slug(client, slug)
        .await?
        .ok_or_else(|| TenancyError::TenantNotFound(slug.to_string()))
}

static FIND_BY_HOST_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {TENANT_COLUMNS} from public.domains d \
         join public.tenants t on t.id = d.tenant_id where d.host = $1"
    )
});

pub async fn find_by_host(
    client: &impl GenericClient,
    host: &Host,
) -> Result<Option<Tenant>, TenancyError> {
    client
        .query_opt(FIND_BY_HOST_SQL.as_str(), &[&host.as_str()])
        .await?
        .as_ref()
        .map(Tenant::from_row)
        .transpose()
}

/// [`find_by_host`] on a request-pool connection, outside any transaction (safe
/// behind a transaction pooler).
pub async fn find_by_host_pooled(
    connection: &PooledConnection,
    host: &Host,
) -> Result<Option<Tenant>, TenancyError> {
    connection
        .query_opt(
            Scope::standalone(),
            FIND_BY_HOST_SQL.as_str(),
            &[&host.as_str()],
        )
        .await?
        .as_ref()
        .map(Tenant::from_row)
        .transpose()
}

pub async fn list(client: &impl GenericClient) -> Result<Vec<TenantSummary>, TenancyError> {
    let sql = format!(
        "select {TENANT_COLUMNS}, d.host from public.tenants t \
         left join public.domains d on d.tenant_id = t.id and d.is_primary \
         order by t.slug"
    );
    client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|row| {
            Ok(TenantSummary {
                tenant: Tenant::from_row(row)?,
                primary_host: row.get(9),
            })
        })
        .collect()
}

pub async fn domains_of(
    client: &impl GenericClient,
    tenant: TenantId,
) -> Result<Vec<Domain>, TenancyError> {
    client
        .query(
            "select host, is_primary, created_at from public.domains \
             where tenant_id = $1 order by is_primary desc, host",
            &[&tenant.0],
        )
        .await?
        .iter()
        .map(|row| {
            let host: String = row.get(0);
            Ok(Domain {
                host: Host::parse(&host)?,
                is_primary: row.get(1),
                created_at: row.get(2),
            })
        })
        .collect()
}

/// Moves a tenant from one of `from` to `to`; any other current status is a conflict.
pub async fn change_status(
    client: &Client,
    slug: &TenantSlug,
    from: &[TenantStatus],
    to: TenantStatus,
) -> Result<Tenant, TenancyError> {
    let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let sql = format!(
        "update public.tenants t set status = $2, updated_at = now() \
         where t.slug = $1 and t.status = any($3) returning {TENANT_COLUMNS}"
    );
    if let Some(row) = client
        .query_opt(&sql, &[&slug.as_str(), &to.as_str(), &allowed])
        .await?
    {
        return Tenant::from_row(&row);
    }
    let current = get_by_slug(client, slug).await?;
    if current.status == to {
        return Ok(current);
    }
    Err(TenancyError::Conflict(format!(
        "tenant {slug} is {}; it can become {to} only from {}",
        current.status,
        allowed.join(" or ")
    )))
}

/// Adds a host to a tenant; `primary` makes it the tenant's primary host, demoting the
/// previous one in the same transaction. A tenant's first host is always primary.
pub async fn add_domain(
    client: &mut Client,
    slug: &TenantSlug,
    host: &Host,
    primary: bool,
) -> Result<Domain, TenancyError> {
    let tx = client.transaction().await?;
    let tenant = tx
        .query_opt(
            "select id from public.tenants where slug = $1 and status <> 'deleting' for update",
            &[&slug.as_str()],
        )
        .await?
        .ok_or_else(|| TenancyError::TenantNotFound(slug.to_string()))?;
    let tenant_id: Uuid = tenant.get(0);
    let has_primary = tx
        .query_opt(
            "select 1 from public.domains where tenant_id = $1 and is_primary",
            &[&tenant_id],
        )
        .await?
        .is_some();
    let make_primary = primary || !has_primary;
    if make_primary && has_primary {
        tx.execute(
            "update public.domains set is_primary = false where tenant_id = $1 and is_primary",
            &[&tenant_id],
        )
        .await?;
    }
    let row = tx
        .query_one(
            "insert into public.domains (host, tenant_id, is_primary) values ($1, $2, $3) \
             returning created_at",
            &[&host.as_str(), &tenant_id, &make_primary],
        )
        .await
        .map_err(|e| map_unique_violation(e, slug.as_str(), Some(host.as_str()), None))?;
    tx.commit().await?;
    Ok(Domain {
        host: host.clone(),
        is_primary: make_primary,
        created_at: row.get(0),
    })
}

/// What removing a domain did, so the operator learns about an automatic promotion.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedDomain {
    pub host: Host,
    pub tenant: TenantSlug,
    pub new_primary: Option<Host>,
}

/// Removes a host. A tenant's last host cannot be removed (it would become unreachable);
/// removing the primary promotes the oldest remaining host.
pub async fn remove_domain(
    client: &mut Client,
    host: &Host,
) -> Result<RemovedDomain, TenancyError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "select d.tenant_id, d.is_primary, t.slug from public.domains d \
             join public.tenants t on t.id = d.tenant_id where d.host = $1 for update of t",
            &[&host.as_str()],
        )
        .await?
        .ok_or_else(|| TenancyError::DomainNotFound(host.to_string()))?;
    let tenant_id: Uuid = row.get(0);
    let was_primary: bool = row.get(1);
    let slug = TenantSlug::parse(row.get(2))?;
    let remaining: i64 = tx
        .query_one(
            "select count(*) from public.domains where tenant_id = $1",
            &[&tenant_id],
        )
        .await?
        .get(0);
    if remaining <= 1 {
        return Err(TenancyError::Conflict(format!(
            "{host} is the only host of tenant {slug}; add another host first, or delete the tenant"
        )));
    }
    tx.execute(
        "delete from public.domains where host = $1",
        &[&host.as_str()],
    )
    .await?;
    let new_primary = if was_primary {
        let promoted: String = tx
            .query_one(
                "update public.domains set is_primary = true where id = \
                 (select id from public.domains where tenant_id = $1 order by created_at, host limit 1) \
                 returning host",
                &[&tenant_id],
            )
            .await?
            .get(0);
        Some(Host::parse(&promoted)?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(RemovedDomain {
        host: host.clone(),
        tenant: slug,
        new_primary,
    })
}
