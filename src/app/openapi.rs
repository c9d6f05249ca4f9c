//! The root of the OpenAPI document (`/api/openapi.json`, with Swagger UI at
//! `/api/docs/`, both on the platform host): title, tags and the bearer scheme. The
//! paths are not listed here: each area registers a route and its entry in one call
//! (`app::mount`). Swagger UI's files are compiled in (`vendored`): nothing is
//! downloaded at build or run time.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pactum",
        description = "Multi-tenant contract lifecycle management. Tenant routes are served on \
            the tenant's own host (e.g. https://acme.example.com); platform routes on the apex host. \
            Every error is {\"error\": \"<stable_code>\", \"message\": \"...\"}."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "platform", description = "Apex host only"),
        (name = "tenant", description = "The tenant of the request's host"),
        (name = "auth", description = "Logins and tokens, per tenant"),
        (name = "users", description = "User management, tenant admins only"),
        (name = "contracts", description = "Contracts, their lifecycle, versions, types and calendar"),
        (name = "counterparties", description = "Counterparties and their contacts"),
        (name = "clauses", description = "The clause library and clauses on contracts"),
        (name = "templates", description = "Contract templates and generation"),
        (name = "comments", description = "Comments on contracts"),
        (name = "attachments", description = "Files attached to contracts"),
        (name = "audit", description = "The append-only audit log, tenant admins only"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
