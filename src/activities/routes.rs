//! Tasks, the activity log and the account timeline over HTTP: thin handlers that
//! parse, resolve the record kind named, call the service as the caller, and answer.

use actix_web::{delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::tasks::TaskFilter;
use super::timeline::{self, TimelineEntry};
use super::{log, tasks};
use crate::kernel::actor::me_or_user;
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::target::Target;
use crate::kernel::validate::Timestamp;
use crate::web::error::{ApiError, AuthedRouteErrors};
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};
use crate::web::AppState;

/// Which tasks a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskFilters {
    /// With `target_id`: only the tasks on that record.
    #[param(max_length = 40)]
    target_kind: Option<String>,
    target_id: Option<Uuid>,
    /// `me`, or a user's id.
    assignee: Option<String>,
    /// `active` (open or in progress), `open`, `in_progress`, `done` or `cancelled`;
    /// every status when left out.
    #[param(pattern = "^(active|open|in_progress|done|cancelled)$")]
    status: Option<String>,
    /// Only those due before this instant: `due_before` now lists the overdue ones.
    #[param(value_type = Option<String>, format = DateTime)]
    due_before: Option<Timestamp>,
}

impl TaskFilters {
    fn parse(&self, state: &AppState, user: &AuthUser) -> Result<TaskFilter, ApiError> {
        let target = named_target(state, self.target_kind.as_deref(), self.target_id)?;
        let statuses = match self.status.as_deref() {
            None => None,
            Some("active") => Some(vec!["open".to_owned(), "in_progress".to_owned()]),
            Some(one) => Some(vec![status(one)?]),
        };
        Ok(TaskFilter {
            target: target.map(|t| (t.kind.name.to_owned(), t.id)),
            assignee_id: self
                .assignee
                .as_deref()
                .map(|text| me_or_user("assignee", text, user.principal().user_id()))
                .transpose()?,
            statuses,
            due_before: self.due_before.map(|at| at.0),
        })
    }
}

/// The record a query or body names, both parts or neither.
fn named_target(
    state: &AppState,
    kind: Option<&str>,
    id: Option<Uuid>,
) -> Result<Option<Target>, ApiError> {
    match (kind, id) {
        (None, None) => Ok(None),
        (Some(kind), Some(id)) => Ok(Some(Target::new(
            state.targets.named("target_kind", kind)?,
            id,
        ))),
        _ => {
            Err(crate::kernel::DomainError::invalid("target_kind and target_id go together").into())
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    params(TaskFilters, PageQuery),
    responses(
        (status = 200, description = "Tasks, soonest due first and undated last. On a contract whose redacted copy stands in for its original for this reader, a task's title and notes are masked as the copy was (`[redacted: kind]`)", body = Page<TaskView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tasks")]
pub async fn list_tasks(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: ListQuery<TaskFilters>,
) -> Result<Json<Page<TaskView>>, ApiError> {
    let filter = query.filters.parse(&state, &user)?;
    let page = query.page.parse()?;
    Ok(Json(
        tasks::list(&db, &user.principal(), &filter, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/tasks",
    tag = "tasks",
    request_body = NewTask,
    responses(
        (status = 201, description = "Created; its assignee told and its reminder and due timers set", body = TaskView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tasks")]
pub async fn create_task(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: Json<NewTask>,
) -> Result<Created<TaskView>, ApiError> {
    let body = body.into_inner();
    let target = Target::new(
        state.targets.named("target_kind", &body.target_kind)?,
        body.target_id,
    );
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        tasks::create(tx, actor, &origin, target, body).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/tasks/export",
    tag = "tasks",
    params(TaskFilters),
    responses(
        (status = 200, description = "The tasks the list shows with the same filters, soonest due first (undated last), as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tasks/export")]
pub async fn export_tasks(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<TaskFilters>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::web::csv::{cell, opt, response};
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| opt(&t.map(|t| t.to_rfc3339()));
    let filter = query.parse(&state, &user)?;
    let all = tasks::list(&db, &user.principal(), &filter, &PageRequest::export())
        .await?
        .into_export()?;
    response(
        "tasks.csv",
        &[
            "id",
            "target_kind",
            "target_id",
            "title",
            "assignee_id",
            "due_at",
            "remind_at",
            "priority",
            "status",
            "completed_at",
            "created_by",
            "created_at",
            "repeat",
            "repeat_until",
            "next_task_id",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                v.target_kind.clone(),
                v.target_id.to_string(),
                cell(&v.title),
                opt(&v.assignee_id),
                time(&v.due_at),
                time(&v.remind_at),
                v.priority.clone(),
                v.status.clone(),
                time(&v.completed_at),
                opt(&v.created_by),
                v.created_at.to_rfc3339(),
                opt(&v.repeat.as_ref().map(|r| format!("{} {}", r.every, r.unit))),
                time(&v.repeat.as_ref().and_then(|r| r.until.map(|u| u.0))),
                opt(&v.next_task_id),
            ]
        }),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task; masked as in the list for a reader of its contract's redacted copy", body = TaskView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tasks/{id}")]
pub async fn get_task(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(
        tasks::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    request_body = UpdateTask,
    responses(
        (status = 200, description = "Changed by its creator or assignee or a manager; its timers follow", body = TaskView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/tasks/{id}")]
pub async fn update_task(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateTask>,
) -> Result<Json<TaskView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        tasks::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 204, description = "Deleted by its creator or a manager"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tasks/{id}")]
pub async fn delete_task(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        tasks::delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// The record's kind.
    #[param(max_length = 40)]
    target_kind: String,
    /// The record's id.
    target_id: Uuid,
    /// Only calls, meetings, emails or notes.
    #[param(pattern = "^(call|meeting|email|note)$")]
    kind: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/activities",
    tag = "tasks",
    params(ActivityQuery),
    responses(
        (status = 200, description = "What was logged on the record, latest first. On a contract whose redacted copy stands in for its original for this reader, each subject and body is masked as the copy was (`[redacted: kind]`)", body = Page<ActivityView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/activities")]
pub async fn list_activities(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<ActivityQuery>,
) -> Result<Json<Page<ActivityView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let target = Target::new(
        state.targets.named("target_kind", &query.target_kind)?,
        query.target_id,
    );
    Ok(Json(
        log::list_on(&db, &user.principal(), target, query.kind.as_deref(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/activities",
    tag = "tasks",
    request_body = NewActivity,
    responses(
        (status = 201, description = "Logged", body = ActivityView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/activities")]
pub async fn create_activity(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: Json<NewActivity>,
) -> Result<Created<ActivityView>, ApiError> {
    let body = body.into_inner();
    let target = Target::new(
        state.targets.named("target_kind", &body.target_kind)?,
        body.target_id,
    );
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        log::create(tx, actor, &origin, target, body).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/activities/{id}",
    tag = "tasks",
    params(("id" = Uuid, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The logged activity; masked as in the list for a reader of its contract's redacted copy", body = ActivityView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/activities/{id}")]
pub async fn get_activity(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ActivityView>, ApiError> {
    Ok(Json(
        log::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/activities/{id}",
    tag = "tasks",
    params(("id" = Uuid, Path, description = "Activity id")),
    responses(
        (status = 204, description = "Deleted by its author or a manager"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/activities/{id}")]
pub async fn delete_activity(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        log::delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    get,
    path = "/api/v1/counterparties/{id}/timeline",
    tag = "tasks",
    params(("id" = Uuid, Path, description = "Counterparty (account) id"), PageQuery),
    responses(
        (status = 200, description = "The account's timeline, newest first: events of the account and its contacts and opportunities and contracts and cases and invoices, and of the tasks and activities and comments on them", body = Page<TimelineEntry>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/counterparties/{id}/timeline")]
pub async fn account_timeline(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<TimelineEntry>>, ApiError> {
    let page = query.parse()?;
    Ok(Json(
        timeline::of_account(&db, &user.principal(), id.into_inner(), &page).await?,
    ))
}
