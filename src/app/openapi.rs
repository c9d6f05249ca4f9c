//! The root of the OpenAPI document (`/api/openapi.json`, with Swagger UI at
//! `/api/docs/`, both on the platform host): title, tags and the bearer scheme. The
//! paths are not listed here: each area registers a route and its entry in one call
//! (`app::mount`). Swagger UI's files are compiled in (`vendored`): nothing is
//! downloaded at build or run time.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
        (name = "users", description = "User management and temporary role grants, tenant admins only"),
        (name = "contracts", description = "Contracts, their lifecycle, versions, types and calendar"),
        (name = "counterparties", description = "Counterparties, the CRM's accounts, and the contacts at them"),
        (name = "search", description = "One search across accounts, contacts, leads, opportunities, invoices and contract titles"),
        (name = "dashboards", description = "Figures over the pipeline, contracts and invoices"),
        (name = "invoices", description = "Invoices: lines, numbering without gaps, payments, voiding, due-date timers"),
        (name = "cases", description = "Support cases on accounts and contracts with first-response and resolution SLAs in business hours and escalation"),
        (name = "tasks", description = "Tasks with assignees and due times and reminders, the log of calls and meetings and emails, and each account's timeline"),
        (name = "leads", description = "Leads and their conversion into an account, a contact and an opportunity"),
        (name = "pipeline", description = "The sales pipeline: stages, opportunities, the board and the forecast"),
        (name = "clauses", description = "The clause library and clauses on contracts"),
        (name = "templates", description = "Contract templates and generation"),
        (name = "comments", description = "Comments on contracts"),
        (name = "attachments", description = "Files attached to contracts: their text, OCR of scans, searchable PDFs, and the tenant's document settings"),
        (name = "redaction", description = "Finding sensitive text in a contract and keeping redacted copies of it"),
        (name = "intelligence", description = "Finding contracts by meaning and by likeness, with the embedding model run on this server"),
        (name = "audit", description = "The append-only audit log, tenant admins only"),
        (name = "events", description = "The tenant's event stream (every change, typed), tenant admins only"),
        (name = "teams", description = "Named groups of users that approval stages name as approvers; admins manage them"),
        (name = "workflows", description = "Approval workflows: definitions (admins) matched by trigger rules, rounds of stages and approvals, decisions, out-of-office, the business calendar SLAs are counted in, analytics"),
        (name = "notifications", description = "The caller's in-app inbox, filled from events"),
        (name = "webhooks", description = "Webhook endpoints that receive events, signed the Standard Webhooks way; tenant admins only"),
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

/// What every operation with a JSON body can answer besides its own responses, added
/// once here rather than on each route: the body is refused before the handler runs
/// when it is too large (413) or not `application/json` (415).
pub fn add_body_refusals(document: &mut utoipa::openapi::OpenApi) {
    let refusal = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in document.paths.paths.values_mut() {
        if let Some(post) = item.post.as_mut() {
            add_idempotency_key(post, &refusal);
        }
        let operations: [&mut Option<Operation>; 5] = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let takes_json = operation
                .request_body
                .as_ref()
                .is_some_and(|body| match body {
                    RefOr::T(body) => body.content.contains_key("application/json"),
                    RefOr::Ref(_) => false,
                });
            if !takes_json {
                continue;
            }
            let responses = &mut operation.responses.responses;
            for (status, description) in [
                ("413", "payload_too_large: the body is larger than 64 KiB"),
                (
                    "415",
                    "unsupported_media_type: the body is not application/json",
                ),
            ] {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(refusal(description)));
            }
        }
    }
}

/// Every POST takes an optional `Idempotency-Key` (see `web::idempotency`), and may
/// answer with its refusals.
fn add_idempotency_key(
    operation: &mut Operation,
    refusal: &dyn Fn(&str) -> utoipa::openapi::Response,
) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "Makes a retry safe: the same key (1 to 255 visible ASCII characters, per user, \
             kept 24 hours) gets the first answer back, with `Idempotent-Replayed: true`, \
             instead of making the change again. An upload is matched by its form's parts \
             (names, types, bytes), whatever boundary the retry's form has.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(parameter));
    let responses = &mut operation.responses.responses;
    for (status, description) in [
        (
            "400",
            "invalid_idempotency_key, or invalid input",
        ),
        (
            "409",
            "idempotency_key_in_use: a request with this key is running, or made its change without an answer kept",
        ),
        (
            "422",
            "idempotency_key_reused: the key was used for another request",
        ),
        (
            "503",
            "outcome_unknown: the connection was lost while committing; retry with the same Idempotency-Key",
        ),
    ] {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(refusal(description)));
    }
}
