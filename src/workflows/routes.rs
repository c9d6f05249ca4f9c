//! `/api/v1/workflows`, `/api/v1/approvals`, `/api/v1/contracts/{id}/workflow`, the
//! business calendar, the workflow setting and out-of-office: thin handlers over the
//! services of this area.

use actix_web::{delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::decisions::{self, Decision};
use super::definitions::{self, DefinitionVersion, DefinitionView};
use super::engine;
use super::matching::{self, DraftContract, MatchReport, Subject, Uncovered};
use super::model::DefinitionBody;
use super::model::{ApproveBody, DelegateBody, RejectBody};
use super::settings::{self, OutOfOffice, WorkflowSettings};
use super::views::{
    self, Analytics, AnalyticsQuery, ApprovalQuery, ApprovalView, ContractWorkflow,
};
use crate::kernel::page::Page;
use crate::kernel::reads::as_actor;
use crate::kernel::{Refusal, Role};
use crate::sla::calendar::{self, CalendarBody, CalendarView};
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::{Json, OptionalJson};
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // Literal paths before `/{id}`.
    cfg.service(match_workflows)
        .service(coverage)
        .service(analytics)
        .service(list_workflows)
        .service(create_workflow)
        .service(get_workflow)
        .service(replace_workflow)
        .service(delete_workflow)
        .service(workflow_versions)
        .service(start_contract_workflow)
        .service(get_contract_workflow)
        .service(list_approvals)
        .service(get_approval)
        .service(approve)
        .service(reject)
        .service(delegate)
        .service(get_settings)
        .service(put_settings)
        .service(get_out_of_office)
        .service(put_out_of_office)
        .service(delete_out_of_office)
        .service(get_business_calendar)
        .service(put_business_calendar);
}

#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    responses((status = 200, description = "Every definition, active ones first by priority", body = Page<DefinitionView>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/workflows")]
pub async fn list_workflows(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<Page<DefinitionView>>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            definitions::list(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows", request_body = DefinitionBody,
    responses(
        (status = 201, description = "Saved as version 1 (admins)", body = DefinitionView),
        (status = 409, description = "name_taken, priority_taken (another active definition has this priority), too_many_definitions", body = ErrorBody),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/workflows")]
pub async fn create_workflow(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<DefinitionBody>,
) -> Result<Created<DefinitionView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        definitions::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    let location = format!("/api/v1/workflows/{}", out.id);
    Ok(Created::new(out).at(location))
}

#[utoipa::path(get, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = Uuid, Path, description = "Definition id")),
    responses((status = 200, description = "The definition, current version", body = DefinitionView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/workflows/{id}")]
pub async fn get_workflow(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<DefinitionView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            definitions::get(tx, actor, *id).await
        })
        .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/workflows/{id}", tag = "workflows", request_body = DefinitionBody,
    params(("id" = Uuid, Path, description = "Definition id")),
    responses(
        (status = 200, description = "Saved as the next version (admins); running workflows keep theirs", body = DefinitionView),
        (status = 409, description = "name_taken, priority_taken", body = ErrorBody),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/workflows/{id}")]
pub async fn replace_workflow(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<DefinitionBody>,
) -> Result<Json<DefinitionView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            definitions::replace(tx, actor, &origin, *id, body.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = Uuid, Path, description = "Definition id")),
    responses((status = 204, description = "Deleted (admins); running workflows go on from their own copy"), AuthedRouteErrors),
    security(("bearer" = [])))]
#[delete("/api/v1/workflows/{id}")]
pub async fn delete_workflow(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        definitions::delete(tx, actor, &origin, *id).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(get, path = "/api/v1/workflows/{id}/versions", tag = "workflows",
    params(("id" = Uuid, Path, description = "Definition id")),
    responses((status = 200, description = "Every saved version, newest first", body = Page<DefinitionVersion>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/workflows/{id}/versions")]
pub async fn workflow_versions(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<Page<DefinitionVersion>>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            definitions::versions(tx, actor, *id).await
        })
        .await?,
    ))
}

/// A stored contract, or a draft body, to match.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchBody {
    pub contract_id: Option<Uuid>,
    pub contract: Option<DraftContract>,
}

#[utoipa::path(post, path = "/api/v1/workflows/match", tag = "workflows", request_body = MatchBody,
    responses((status = 200, description = "Which active definitions match, which do not and which of their conditions fail", body = MatchReport), AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/workflows/match")]
pub async fn match_workflows(
    user: AuthUser,
    db: RequestDb,
    body: Json<MatchBody>,
) -> Result<Json<MatchReport>, ApiError> {
    let subject = match body.into_inner() {
        MatchBody {
            contract_id: Some(id),
            contract: None,
        } => Subject::Contract(id),
        MatchBody {
            contract_id: None,
            contract: Some(draft),
        } => Subject::Draft(Box::new(draft)),
        _ => {
            return Err(DomainError::Validation(
                "give either contract_id or contract (a draft body)".into(),
            )
            .into())
        }
    };
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            matching::explain(tx, actor, &subject).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/workflows/coverage", tag = "workflows",
    responses((status = 200, description = "Contracts in review that no workflow governs", body = Page<Uncovered>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/workflows/coverage")]
pub async fn coverage(user: AuthUser, db: RequestDb) -> Result<Json<Page<Uncovered>>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            matching::coverage(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/workflows/analytics", tag = "workflows", params(AnalyticsQuery),
    responses((status = 200, description = "Rates, stage medians, SLA share and what is overdue now (managers)", body = Analytics), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/workflows/analytics")]
pub async fn analytics(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<AnalyticsQuery>,
) -> Result<Json<Analytics>, ApiError> {
    let query = query.into_inner();
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            views::analytics(tx, actor, query).await
        })
        .await?,
    ))
}

/// Starting (or restarting) a contract's workflow by hand.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The definition to run; default: the highest-priority match.
    pub definition_id: Option<Uuid>,
    /// Recorded with the restart.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Started {
    pub run_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/contracts/{id}/workflow", tag = "workflows", request_body = StartBody,
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 201, description = "Started (admins); a running round is cancelled first, its decisions kept", body = Started),
        (status = 409, description = "not_in_review, no_workflow_matches, no_approvers", body = ErrorBody),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/contracts/{id}/workflow")]
pub async fn start_contract_workflow(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<StartBody>,
) -> Result<Created<Started>, ApiError> {
    let body = body.into_inner();
    let reason = crate::kernel::validate::optional_text("reason", body.reason.as_deref(), 500)?
        .unwrap_or_else(|| "started by an admin".into());
    let contract = *id;
    let run_id = as_actor(&db, &user.principal(), async |tx, actor| {
        actor.require(Role::Admin)?;
        engine::end_round(
            tx,
            actor,
            &origin,
            contract,
            "cancelled",
            &format!("restarted: {reason}"),
        )
        .await?;
        engine::start(tx, actor, &origin, contract, body.definition_id, &reason)
            .await?
            .ok_or_else(|| {
                DomainError::refused(Refusal::Conflict, "no_workflow_matches",
                "no active workflow definition matches this contract; name one with definition_id",
                serde_json::json!({ "contract_id": contract }))
            })
    })
    .await?;
    Ok(Created::new(Started { run_id }).at(format!("/api/v1/contracts/{contract}/workflow")))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}/workflow", tag = "workflows",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses((status = 200, description = "The current round's stages, approvers, decisions, deadlines and what is overdue; earlier rounds in brief", body = ContractWorkflow), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/contracts/{id}/workflow")]
pub async fn get_contract_workflow(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ContractWorkflow>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            views::contract_workflow(tx, actor, *id).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/approvals", tag = "workflows", params(ApprovalQuery),
    responses((status = 200, description = "Approvals, newest first: the caller's, or everyone's (`scope=all`, managers)", body = Page<ApprovalView>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/approvals")]
pub async fn list_approvals(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<ApprovalQuery>,
) -> Result<Json<Page<ApprovalView>>, ApiError> {
    let query = query.into_inner();
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            views::approvals(tx, actor, query).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "workflows",
    params(("id" = Uuid, Path, description = "Approval id")),
    responses((status = 200, description = "One approval", body = ApprovalView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/approvals/{id}")]
pub async fn get_approval(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ApprovalView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            views::approval(tx, actor, *id).await
        })
        .await?,
    ))
}

async fn act(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: Uuid,
    decision: Decision,
) -> Result<Json<ApprovalView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        let acted_on = decisions::decide(tx, actor, &origin, id, decision).await?;
        views::approval(tx, actor, acted_on).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/approve", tag = "workflows", request_body = ApproveBody,
    params(("id" = Uuid, Path, description = "Approval id")),
    responses(
        (status = 200, description = "Approved (repeating it changes nothing); the stage completes by its rule and the workflow moves on", body = ApprovalView),
        (status = 409, description = "round_voided, already_decided, stage_closed, self_approval", body = ErrorBody),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/approvals/{id}/approve")]
pub async fn approve(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: OptionalJson<ApproveBody>,
) -> Result<Json<ApprovalView>, ApiError> {
    let comment = body.0.and_then(|b| b.comment);
    act(user, db, origin, *id, Decision::Approve(comment)).await
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/reject", tag = "workflows", request_body = RejectBody,
    params(("id" = Uuid, Path, description = "Approval id")),
    responses(
        (status = 200, description = "Rejected; a required stage's rejection rejects the contract", body = ApprovalView),
        (status = 409, description = "round_voided, already_decided, stage_closed", body = ErrorBody),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/approvals/{id}/reject")]
pub async fn reject(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<RejectBody>,
) -> Result<Json<ApprovalView>, ApiError> {
    act(
        user,
        db,
        origin,
        *id,
        Decision::Reject(body.into_inner().reason),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/delegate", tag = "workflows", request_body = DelegateBody,
    params(("id" = Uuid, Path, description = "Approval id")),
    responses(
        (status = 200, description = "Delegated: the new approval the delegate holds (its `delegated_from` keeps the chain)", body = ApprovalView),
        (status = 409, description = "round_voided, already_decided, stage_closed, self_approval, already_an_approver", body = ErrorBody),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/approvals/{id}/delegate")]
pub async fn delegate(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<DelegateBody>,
) -> Result<Json<ApprovalView>, ApiError> {
    let body = body.into_inner();
    act(
        user,
        db,
        origin,
        *id,
        Decision::Delegate(body.to_user_id, body.reason),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/workflow-settings", tag = "workflows",
    responses((status = 200, description = "The tenant's workflow setting", body = WorkflowSettings), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/workflow-settings")]
pub async fn get_settings(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<WorkflowSettings>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            settings::get(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/workflow-settings", tag = "workflows", request_body = WorkflowSettings,
    responses((status = 200, description = "Set (admins)", body = WorkflowSettings), AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/workflow-settings")]
pub async fn put_settings(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<WorkflowSettings>,
) -> Result<Json<WorkflowSettings>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            settings::put(tx, actor, &origin, body.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/out-of-office", tag = "workflows",
    responses((status = 200, description = "The caller's out-of-office span and delegate", body = OutOfOffice), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/out-of-office")]
pub async fn get_out_of_office(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<OutOfOffice>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        settings::get_out_of_office(tx, actor).await
    })
    .await?;
    Ok(Json(
        out.ok_or(DomainError::Missing("out-of-office setting"))?,
    ))
}

#[utoipa::path(put, path = "/api/v1/out-of-office", tag = "workflows", request_body = OutOfOffice,
    responses((status = 200, description = "Set: approvals created in the span go to the delegate, recorded as delegated", body = OutOfOffice), AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/out-of-office")]
pub async fn put_out_of_office(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<OutOfOffice>,
) -> Result<Json<OutOfOffice>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            settings::put_out_of_office(tx, actor, &origin, body.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/out-of-office", tag = "workflows",
    responses((status = 204, description = "Cleared"), AuthedRouteErrors),
    security(("bearer" = [])))]
#[delete("/api/v1/out-of-office")]
pub async fn delete_out_of_office(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        settings::clear_out_of_office(tx, actor, &origin).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(get, path = "/api/v1/business-calendar", tag = "workflows",
    responses(
        (status = 200, description = "The calendar SLA deadlines are counted in (Monday to Friday, 09:00-17:00 UTC until an admin sets one)", body = CalendarView),
        AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/business-calendar")]
pub async fn get_business_calendar(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<CalendarView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            calendar::get(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/business-calendar", tag = "workflows", request_body = CalendarBody,
    responses((status = 200, description = "Set (admins; audited with what changed). A new time zone moves the reminders and invoice timers already scheduled of a tenant whose notification defaults name no zone, in the background; deadlines already given keep their time", body = CalendarView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/business-calendar")]
pub async fn put_business_calendar(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<CalendarBody>,
) -> Result<Json<CalendarView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            calendar::put(tx, actor, &origin, body.into_inner()).await
        })
        .await?,
    ))
}
