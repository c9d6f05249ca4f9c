//! Where the fleet stands against this build: `public`, every tenant, the spares.

use serde::Serialize;
use tokio_postgres::Client;

use super::public_version;
use crate::migrations::MigrationSet;
use crate::names::TenantSlug;
use crate::TenancyError;

/// One tenant's version against the one this build expects.
#[derive(Debug, Clone, Serialize)]
pub struct TenantVersion {
    pub tenant: TenantSlug,
    pub status: crate::TenantStatus,
    pub schema_version: i32,
    pub behind: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetStatus {
    pub public_version: i32,
    pub public_expected: i32,
    pub tenant_expected: i32,
    pub tenants: Vec<TenantVersion>,
    pub tenants_behind: usize,
    pub spares: crate::spares::SparePool,
}

impl FleetStatus {
    /// Whether anything is behind this build: the deploy gate of `status --check`.
    pub fn is_behind(&self) -> bool {
        self.public_version < self.public_expected
            || self.tenants_behind > 0
            || self.spares.behind > 0
    }
}

pub async fn fleet_status(
    client: &Client,
    public_set: &MigrationSet,
    tenant_set: &MigrationSet,
) -> Result<FleetStatus, TenancyError> {
    let public_version = public_version(client).await?;
    let public_expected = public_set.latest_version();
    if public_version == 0 {
        return Err(TenancyError::Conflict(
            "the database has never been migrated; run `tenantctl migrate` first".into(),
        ));
    }
    let tenant_expected = tenant_set.latest_version();
    let tenants = crate::registry::list(client)
        .await?
        .into_iter()
        .map(|summary| TenantVersion {
            behind: summary.tenant.schema_version < tenant_expected
                && summary.tenant.status != crate::TenantStatus::Deleting,
            tenant: summary.tenant.slug,
            status: summary.tenant.status,
            schema_version: summary.tenant.schema_version,
        })
        .collect::<Vec<_>>();
    let tenants_behind = tenants.iter().filter(|t| t.behind).count();
    let spares = crate::spares::pool_status(client, tenant_set).await?;
    Ok(FleetStatus {
        public_version,
        public_expected,
        tenant_expected,
        tenants,
        tenants_behind,
        spares,
    })
}
