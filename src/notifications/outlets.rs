//! Where notifications leave the server ([`Outlets`]: the mailer, the chat client, how
//! links are made) and who they leave as ([`Sender`]: the tenant's brand and address).

use std::sync::Arc;
use std::time::Duration;

use super::mail::{Brand, Mailer};
use super::preferences::TenantDefaults;
use crate::kernel::destination;
use crate::kernel::DomainError;
use crate::tenancy::scoped::TenantTx;

/// Where notifications leave the server: the mailer, the chat client, and how links in
/// them are made. Cheap to clone.
#[derive(Clone)]
pub struct Outlets(pub(super) Arc<OutletsInner>);

pub(super) struct OutletsInner {
    pub(super) mailer: Mailer,
    pub(super) chat: reqwest::Client,
    pub(super) allow_internal: bool,
    link_scheme: &'static str,
    link_port: Option<u16>,
}

impl Outlets {
    pub fn new(
        mailer: Mailer,
        allow_internal: bool,
        link_scheme: &'static str,
        link_port: Option<u16>,
    ) -> anyhow::Result<Self> {
        let chat = destination::client(
            allow_internal,
            concat!("Pactum-Notifications/", env!("CARGO_PKG_VERSION")),
            Duration::from_secs(5),
        )?;
        Ok(Self(Arc::new(OutletsInner {
            mailer,
            chat,
            allow_internal,
            link_scheme,
            link_port,
        })))
    }

    pub fn allows_internal(&self) -> bool {
        self.0.allow_internal
    }

    pub fn mailer(&self) -> &Mailer {
        &self.0.mailer
    }
}

/// The tenant's name, brand and the base of links in its messages.
pub struct Sender {
    pub(super) brand: Brand,
    base_url: Option<String>,
    pub(super) folder: String,
}

pub(super) async fn sender(
    tx: &TenantTx,
    outlets: &Outlets,
    defaults: TenantDefaults,
) -> Result<Sender, DomainError> {
    let (brand, slug, host) = brand_of(tx, defaults).await?;
    Ok(Sender {
        brand,
        base_url: host.map(|host| match outlets.0.link_port {
            Some(port) => format!("{}://{host}:{port}", outlets.0.link_scheme),
            None => format!("{}://{host}", outlets.0.link_scheme),
        }),
        folder: slug,
    })
}

/// The tenant's brand (its defaults, else its name), slug and primary host.
async fn brand_of(
    tx: &TenantTx,
    defaults: TenantDefaults,
) -> Result<(Brand, String, Option<String>), DomainError> {
    let row = tx
        .query_one(
            "select t.name, t.slug, d.host from public.tenants t \
             left join public.domains d on d.tenant_id = t.id and d.is_primary where t.id = $1",
            &[&tx.tenant_id().0],
        )
        .await?;
    let (name, slug, host): (String, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
    let brand = Brand {
        name: defaults.brand_name.unwrap_or(name),
        color: defaults.brand_color.unwrap_or_else(|| "#1f4e79".into()),
    };
    Ok((brand, slug, host))
}

/// How the tenant presents itself in mail (its brand name and colour), inside a unit
/// of work.
pub async fn tenant_brand(tx: &TenantTx) -> Result<Brand, DomainError> {
    Ok(brand_of(tx, super::preferences::defaults(tx).await?)
        .await?
        .0)
}

/// Who the tenant's mail leaves as, with the tenant's own defaults (its brand).
pub async fn tenant_sender(tx: &TenantTx, outlets: &Outlets) -> Result<Sender, DomainError> {
    sender(tx, outlets, super::preferences::defaults(tx).await?).await
}

impl Sender {
    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    /// The tenant's folder in the outbox (its slug).
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// A link in a message, absolute: the tenant's address, then `link`.
    pub fn link_url(&self, link: Option<&str>) -> Option<String> {
        Some(format!("{}{}", self.base_url.as_deref()?, link?))
    }
}
