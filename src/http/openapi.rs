//! The OpenAPI document (`/api/openapi.json`) and Swagger UI (`/api/docs/`), served on
//! the platform host. Swagger UI's files are compiled in (`vendored`): nothing is
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
    paths(
        super::platform::healthz,
        super::platform::readyz,
        super::metrics::metrics,
        super::current_tenant,
        crate::auth::routes::login,
        crate::auth::routes::refresh,
        crate::auth::routes::logout,
        crate::auth::routes::me,
        crate::auth::user_routes::change_password,
        crate::auth::user_routes::list_users,
        crate::auth::user_routes::create_user,
        crate::auth::user_routes::get_user,
        crate::auth::user_routes::update_user,
        crate::auth::user_routes::delete_user,
        crate::clm::contracts::create_contract,
        crate::clm::contracts::list_contracts,
        crate::clm::contracts::contract_facets,
        crate::clm::contracts::get_contract,
        crate::clm::contracts::update_contract,
        crate::clm::contracts::delete_contract,
        crate::clm::contracts::transition_contract,
        crate::clm::contracts::list_versions,
        crate::clm::contracts::get_version,
        crate::clm::contracts::diff_versions,
        crate::clm::contracts::list_contract_types,
        crate::clm::contracts::create_contract_type,
        crate::clm::calendar::calendar,
        crate::clm::counterparties::list_counterparties,
        crate::clm::counterparties::create_counterparty,
        crate::clm::counterparties::get_counterparty,
        crate::clm::counterparties::update_counterparty,
        crate::clm::counterparties::delete_counterparty,
        crate::clm::counterparties::create_contact,
        crate::clm::counterparties::delete_contact,
        crate::clm::clauses::list_clauses,
        crate::clm::clauses::create_clause,
        crate::clm::clauses::get_clause,
        crate::clm::clauses::update_clause,
        crate::clm::clauses::delete_clause,
        crate::clm::clauses::similar_clauses,
        crate::clm::clauses::contract_clauses,
        crate::clm::clauses::attach_clause,
        crate::clm::clauses::detach_clause,
        crate::clm::clauses::validate_clauses,
        crate::clm::templates::list_templates,
        crate::clm::templates::create_template,
        crate::clm::templates::get_template,
        crate::clm::templates::update_template,
        crate::clm::templates::delete_template,
        crate::clm::templates::generate_contract,
        crate::clm::comments::list_comments,
        crate::clm::comments::create_comment,
        crate::clm::comments::delete_comment,
        crate::clm::audit::list_audit_logs,
        crate::clm::attachments::list_attachments,
        crate::clm::attachments::upload_attachment,
        crate::clm::attachments::download_attachment,
        crate::clm::attachments::delete_attachment,
        crate::clm::pdf::contract_pdf,
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
