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
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "platform", description = "Apex host only"),
        (name = "tenant", description = "The tenant of the request's host"),
        (name = "auth", description = "Logins and tokens, per tenant"),
        (name = "users", description = "User management, tenant admins only"),
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
