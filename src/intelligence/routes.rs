//! The intelligence routes: contracts and clauses by meaning and words, contracts and
//! clauses like one, a contract's passages by clause category, the terms suggested from
//! its text, its obligations and the tasks made of those with a date, and its risk
//! under the tenant's policy. The logic is in [`super::search`],
//! [`super::clauses`], [`super::classify`], [`super::suggestions`] and [`super::risk`].

use actix_web::{get, patch, post, put, web, Either, HttpRequest};
use uuid::Uuid;

use super::classify::{self, Classification};
use super::clauses::{self, ClauseResults};
use super::engine::Engine;
use super::generative::{
    self, Asked, GenerativeRequest, GenerativeSettings, GenerativeSettingsView, GenerativeSummary,
    Generator, SummaryRequest,
};
use super::obligations::{self, Obligations};
use super::risk::{self, ContractRisk, RiskPolicy};
use super::search::{self, SearchQuery, SearchResults, SimilarQuery};
use super::suggestions::{
    self, AcceptSuggestion, AcceptedSuggestion, SuggestionQuery, SuggestionView,
};
use super::summary::{self, Summary};
use super::tasks::{self, ContractTaskQuery, TaskQuery, TaskView, UpdateTask};
use crate::kernel::page::Page;
use crate::kernel::reads::as_actor;
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::Accepted;
use crate::web::tenant::{AuthUser, CurrentTenant, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/search/contracts",
    tag = "intelligence",
    params(SearchQuery),
    responses(
        (status = 200, description = "The contracts that best match the query, best first, each with its passages closest to it: by meaning with the embedding model run on this server, by words with full-text search, or both fused by reciprocal rank. A reader a redacted original is kept from never matches its passages, only those of the copy shown in its place", body = SearchResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model; mode=text still works", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/search/contracts")]
pub async fn search_contracts(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    query: web::Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    Ok(Json(
        search::search(&db, tenant.0.id, &engine, &user.principal(), &query).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/similar",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id"), SimilarQuery),
    responses(
        (status = 200, description = "The contracts most like this one in meaning, most alike first, each with its passages closest to it; empty until the contract's text has been read by the model", body = SearchResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/similar")]
pub async fn similar_contracts(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<SimilarQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    Ok(Json(
        search::similar(
            &db,
            tenant.0.id,
            &engine,
            &user.principal(),
            id.into_inner(),
            query.limit,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/search/clauses",
    tag = "intelligence",
    params(SearchQuery),
    responses(
        (status = 200, description = "The library's clauses that best match the query, best first: by meaning with the embedding model run on this server, by words with trigram similarity, or both fused by reciprocal rank", body = ClauseResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model; mode=text still works", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/search/clauses")]
pub async fn search_clauses(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    query: web::Query<SearchQuery>,
) -> Result<Json<ClauseResults>, ApiError> {
    Ok(Json(
        clauses::search(&db, tenant.0.id, &engine, &user.principal(), &query).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses/{id}/similar-in-meaning",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Clause id"), SimilarQuery),
    responses(
        (status = 200, description = "The library's clauses closest in meaning to this one, most alike first, beside the trigram similarity of /clauses/{id}/similar; empty until the clause has been read by the model", body = ClauseResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses/{id}/similar-in-meaning")]
pub async fn similar_clauses(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<SimilarQuery>,
) -> Result<Json<ClauseResults>, ApiError> {
    Ok(Json(
        clauses::similar(
            &db,
            tenant.0.id,
            &engine,
            &user.principal(),
            id.into_inner(),
            query.limit,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/suggestions",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id"), SuggestionQuery),
    responses(
        (status = 200, description = "The terms read from the contract's text by rules, each with the sentence it came from and a confidence, open ones by default. Made by a job after every change of the text; empty until it has run. Readers its redacted original is kept from are refused", body = [SuggestionView]),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/suggestions")]
pub async fn list_suggestions(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<SuggestionQuery>,
) -> Result<Json<Vec<SuggestionView>>, ApiError> {
    Ok(Json(
        suggestions::list(&db, &user.principal(), id.into_inner(), &query).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/suggestions/{suggestion_id}/accept",
    tag = "intelligence",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("suggestion_id" = Uuid, Path, description = "Suggestion id")
    ),
    request_body = AcceptSuggestion,
    responses(
        (status = 200, description = "Accepted: the contract's field is filled through the contracts service as a new version, audited, with its events", body = AcceptedSuggestion),
        (status = 409, description = "`field_already_set`: the contract holds another value, accept with replace to change it; `suggestion_decided`; `contract_locked`; `version_conflict`", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/suggestions/{suggestion_id}/accept")]
pub async fn accept_suggestion(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<AcceptSuggestion>,
) -> Result<Json<AcceptedSuggestion>, ApiError> {
    let (contract, id) = path.into_inner();
    let accepted = as_actor(&db, &user.principal(), async |tx, actor| {
        suggestions::accept(tx, actor, &origin, contract, id, body.into_inner()).await
    })
    .await?;
    Ok(Json(accepted))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/suggestions/{suggestion_id}/reject",
    tag = "intelligence",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("suggestion_id" = Uuid, Path, description = "Suggestion id")
    ),
    responses(
        (status = 200, description = "Rejected: the contract is unchanged and the same value is not suggested again", body = SuggestionView),
        (status = 409, description = "`suggestion_decided`", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/suggestions/{suggestion_id}/reject")]
pub async fn reject_suggestion(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<Json<SuggestionView>, ApiError> {
    let (contract, id) = path.into_inner();
    let rejected = as_actor(&db, &user.principal(), async |tx, actor| {
        suggestions::reject(tx, actor, &origin, contract, id).await
    })
    .await?;
    Ok(Json(rejected))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/risk",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract's latest risk assessment against the tenant's policy: its level and findings, worst first, each with its reason and sentence. Made by a job after every new text, change of terms or clauses, and change of policy; assessed is false until it has run. Readers its redacted original is kept from are refused", body = ContractRisk),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/risk")]
pub async fn contract_risk(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ContractRisk>, ApiError> {
    Ok(Json(
        risk::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/risk-policy",
    tag = "intelligence",
    responses(
        (status = 200, description = "What makes a contract a risk in this tenant; the defaults until an admin sets it", body = RiskPolicy),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/risk-policy")]
pub async fn get_risk_policy(user: AuthUser, db: RequestDb) -> Result<Json<RiskPolicy>, ApiError> {
    Ok(Json(risk::get_policy(&db, &user.principal()).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/risk-policy",
    tag = "intelligence",
    request_body = RiskPolicy,
    responses(
        (status = 200, description = "Set by admins; every contract is assessed again against it by jobs", body = RiskPolicy),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/risk-policy")]
pub async fn put_risk_policy(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<RiskPolicy>,
) -> Result<Json<RiskPolicy>, ApiError> {
    let policy = as_actor(&db, &user.principal(), async |tx, actor| {
        risk::put_policy(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Json(policy))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/classification",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract's passages, each given a clause category with a confidence: by its nearest clauses in the tenant's own library when the model has read both, else by a few words per category. Readers its redacted original is kept from are refused", body = Classification),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/classification")]
pub async fn classify_contract(
    user: AuthUser,
    db: RequestDb,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
) -> Result<Json<Classification>, ApiError> {
    Ok(Json(
        classify::classify(&db, &engine, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/obligations",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The sentences of the contract that bind a party, read by rules: the party, the action, whether it is a prohibition, and when it is due where the sentence says so. Readers its redacted original is kept from are refused", body = Obligations),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/obligations")]
pub async fn contract_obligations(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<Obligations>, ApiError> {
    Ok(Json(
        obligations::list(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/obligation-tasks",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id"), ContractTaskQuery),
    responses(
        (status = 200, description = "The contract's obligations that have a date, as tasks, earliest due first: made by a job from every new text: a date the sentence states, or a period from the effective date once the contract has a start date; assigned to the contract's owner, reminded to their assignee. Readers its redacted original is kept from are refused", body = Page<TaskView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/obligation-tasks")]
pub async fn contract_obligation_tasks(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<ContractTaskQuery>,
) -> Result<Json<Page<TaskView>>, ApiError> {
    Ok(Json(
        tasks::list_for_contract(&db, &user.principal(), id.into_inner(), query.into_inner())
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/obligation-tasks",
    tag = "intelligence",
    params(TaskQuery),
    responses(
        (status = 200, description = "Obligation tasks of every contract whose original the caller may read, earliest due first: `assignee=me` for one's own, `due_before` for the overdue", body = Page<TaskView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/obligation-tasks")]
pub async fn list_obligation_tasks(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<TaskQuery>,
) -> Result<Json<Page<TaskView>>, ApiError> {
    Ok(Json(tasks::list(&db, &user.principal(), &query).await?))
}

#[utoipa::path(
    patch,
    path = "/api/v1/obligation-tasks/{id}",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Obligation task id")),
    request_body = UpdateTask,
    responses(
        (status = 200, description = "Changed, audited as `obligation.updated`; its reminders follow: a closed task has none, a moved date moves them. Its assignee may change its status; whoever may change the contract may change anything", body = TaskView),
        (status = 409, description = "`task_superseded`: the contract's text no longer states it", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/obligation-tasks/{id}")]
pub async fn update_obligation_task(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateTask>,
) -> Result<Json<TaskView>, ApiError> {
    let id = id.into_inner();
    let task = as_actor(&db, &user.principal(), async |tx, actor| {
        tasks::update(tx, actor, &origin, id, body.into_inner()).await
    })
    .await?;
    Ok(Json(task))
}

#[utoipa::path(
    get,
    path = "/api/v1/generative-settings",
    tag = "intelligence",
    responses(
        (status = 200, description = "The tenant's OpenAI-compatible endpoint for generative summaries: off and empty until its admin saves one; the key only as whether one is set", body = GenerativeSettingsView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/generative-settings")]
pub async fn get_generative_settings(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<GenerativeSettingsView>, ApiError> {
    Ok(Json(generative::settings(&db, &user.principal()).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/generative-settings",
    tag = "intelligence",
    request_body = GenerativeSettings,
    responses(
        (status = 200, description = "Saved, audited without the key: from now on a member may ask for a contract's generative summary when enabled, and its text is sent to this endpoint", body = GenerativeSettingsView),
        (status = 400, description = "`invalid_base_url`: not an https URL, credentials in it, or a name that resolves to an internal address; `invalid_api_key`", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/generative-settings")]
pub async fn put_generative_settings(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    generator: web::Data<Generator>,
    body: Json<GenerativeSettings>,
) -> Result<Json<GenerativeSettingsView>, ApiError> {
    let input = body.into_inner();
    generative::check(&input, &generator).await?;
    let saved = as_actor(&db, &user.principal(), async |tx, actor| {
        generative::save(tx, actor, &origin, input).await
    })
    .await?;
    Ok(Json(saved))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/summary/generative",
    tag = "intelligence",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        SummaryRequest,
        ("Prefer" = Option<String>, Header, description = "`respond-async` (RFC 7240): answer at once with the pending request (202) and make the call in the background; the member is told in their inbox (`generative_summary_ready` or `generative_summary_failed`) and the request's state is at `GET /contracts/{id}/summary/generative/request`"),
    ),
    responses(
        (status = 200, description = "A summary written by the tenant's own endpoint from the contract's title, body and files' text, cut at its max_input_chars, and kept for the contract; the call is audited on the contract as contract.generative_summary, answered or not. While the kept summary was made from the same text and settings it is served again without a call, `reused` true, unless `refresh` asks for a new one (also with `Prefer: respond-async`); a failed call leaves the kept one in place. Members who may read its original", body = GenerativeSummary),
        (status = 202, description = "With `Prefer: respond-async`: the request, pending, with `Preference-Applied: respond-async` and its `Location`; a job makes the call as the member who asked. A request for a contract whose request is still pending joins it, and one call serves both", body = GenerativeRequest),
        (status = 409, description = "`generative_off`: the tenant's admin has not turned generative summaries on", body = ErrorBody),
        (status = 502, description = "`generative_failed`: the endpoint could not be reached, refused, or gave no summary; the call is audited all the same", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/summary/generative")]
pub async fn generative_summary(
    request: HttpRequest,
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    generator: web::Data<Generator>,
    id: web::Path<Uuid>,
    query: web::Query<SummaryRequest>,
) -> Result<Either<Json<GenerativeSummary>, Accepted<GenerativeRequest>>, ApiError> {
    let (contract, principal) = (id.into_inner(), user.principal());
    if !prefers_async(&request) {
        let made = generative::summarize(
            &db,
            &principal,
            &origin,
            &generator,
            contract,
            query.refresh,
        )
        .await?;
        return Ok(Either::Left(Json(made)));
    }
    Ok(
        match generative::requests::ask(&db, &principal, contract, query.refresh).await? {
            Asked::Kept(kept) => Either::Left(Json(kept)),
            Asked::Pending(pending) => Either::Right(Accepted {
                body: pending,
                location: format!("/api/v1/contracts/{contract}/summary/generative/request"),
                preference_applied: Some("respond-async"),
            }),
        },
    )
}

/// Whether a `Prefer` header (RFC 7240) asks for `respond-async`: preferences are
/// comma-separated, each a token with optional parameters after `;`.
fn prefers_async(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all("prefer")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| {
            let token = preference.split([';', '=']).next().unwrap_or_default();
            token.trim().eq_ignore_ascii_case("respond-async")
        })
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/summary/generative/request",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The last generative summary asked for in the background (`Prefer: respond-async`): `pending` until its job has made the call, then `answered` or `failed` with the reason; nothing is sent anywhere. Readers who may read its original", body = GenerativeRequest),
        (status = 404, description = "`not_found`: no such contract, or no summary was asked for in the background", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/summary/generative/request")]
pub async fn generative_summary_request(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<GenerativeRequest>, ApiError> {
    Ok(Json(
        generative::requests::last(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/summary/generative",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The generative summary kept for the contract, with `current` false once its text or the tenant's generative settings changed since it was made; nothing is sent anywhere. Readers who may read its original", body = GenerativeSummary),
        (status = 404, description = "`not_found`: no such contract, or no summary was made for it yet (one asked for in the background says how it goes at `/summary/generative/request`)", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/summary/generative")]
pub async fn kept_generative_summary(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<GenerativeSummary>, ApiError> {
    Ok(Json(
        generative::kept(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/summary",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract at a glance, made on this server: the sentences that carry most of what its body is about, in their order, and each key term as the contract holds it or else as its text states it, with the sentence. A reader a redacted original is kept from gets the summary of the copy", body = Summary),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/summary")]
pub async fn contract_summary(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<Summary>, ApiError> {
    Ok(Json(
        summary::summarize(&db, &user.principal(), id.into_inner()).await?,
    ))
}
