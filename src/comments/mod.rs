//! Comments on contracts. `@user@example.com` mentions of this tenant's users are
//! recorded with the comment, for notifications.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::contracts::read_contract_rows;
use crate::kernel::audit::{self, Entry};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::validate;
use crate::kernel::{Actor, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError};
use crate::web::json::Json;
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_comments)
        .service(create_comment)
        .service(delete_comment);
}

const MAX_COMMENT_CHARS: usize = 20_000;
const MAX_MENTIONS: usize = 50;

/// The addresses written as `@name@example.com` in a comment, lower-cased, in order of
/// first appearance.
fn mentioned_emails(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (index, _) in body.match_indices('@') {
        // A mention starts at an '@' that does not continue a word (so the '@' inside
        // an address is not a mention of its domain).
        let preceded_by_word = body[..index]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
        if preceded_by_word {
            continue;
        }
        let candidate: String = body[index + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'))
            .collect();
        let candidate = candidate.trim_end_matches('.').to_lowercase();
        if candidate.matches('@').count() == 1
            && crate::tenancy::Email::parse(&candidate).is_ok()
            && !found.contains(&candidate)
        {
            found.push(candidate);
        }
    }
    found
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    id: Uuid,
    contract_id: Uuid,
    author_id: Option<Uuid>,
    body: String,
    /// Ids of the users mentioned.
    mentions: Vec<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<&Row> for CommentView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            contract_id: row.get(1),
            author_id: row.get(2),
            body: row.get(3),
            mentions: row.get(4),
            created_at: row.get(5),
        }
    }
}

const COLUMNS: &str = "id, contract_id, author_id, body, mentions, created_at";

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/comments")]
pub async fn list_comments(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, DomainError> {
    let page = query.parse()?;
    let (after_at, after_id) = page.after::<(DateTime<Utc>, Uuid)>()?.unzip();
    let id = id.into_inner();
    let sql = format!(
        "select {COLUMNS} from comments where contract_id = $1 \
         and ($3::timestamptz is null or (created_at, id) > ($3, $4::uuid)) \
         order by created_at, id limit $2"
    );
    let rows = read_contract_rows(
        &db,
        &user.principal(),
        id,
        &sql,
        &[&page.fetch(), &after_at, &after_id],
    )
    .await?;
    let list: Vec<CommentView> = rows.iter().map(CommentView::from).collect();
    Ok(HttpResponse::Ok().json(Page::keyset(list, &page, |c| (c.created_at, c.id))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// Mention users as `@their@email`.
    body: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/comments")]
pub async fn create_comment(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<NewComment>,
) -> Result<HttpResponse, DomainError> {
    let text = validate::text("body", &body.body, MAX_COMMENT_CHARS)?;
    let mut emails = mentioned_emails(&text);
    emails.truncate(MAX_MENTIONS);
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Member).await?;
    let contract_id = id.into_inner();
    tx.query_opt("select 1 from contracts where id = $1", &[&contract_id])
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("contract"))?;
    let mentions: Vec<Uuid> = tx
        .query(
            "select id from users where lower(email) = any($1) and active order by id",
            &[&emails],
        )
        .await
        .map_err(DomainError::database)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let row = tx
        .query_one(
            &format!(
                "insert into comments (contract_id, author_id, body, mentions) values ($1, $2, $3, $4) returning {COLUMNS}"
            ),
            &[&contract_id, &user.claims.sub, &text, &mentions],
        )
        .await
        .map_err(DomainError::write)?;
    let view = CommentView::from(&row);
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "create",
            entity: "comment",
            entity_id: Some(view.id),
            changes: json!({"contract_id": contract_id, "mentions": view.mentions}),
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    delete,
    path = "/api/v1/comments/{id}",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted (its author, or a manager)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/comments/{id}")]
pub async fn delete_comment(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, DomainError> {
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Member).await?;
    let id = id.into_inner();
    let row = tx
        .query_opt(
            "select author_id, contract_id from comments where id = $1 for update",
            &[&id],
        )
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("comment"))?;
    let (author, contract_id): (Option<Uuid>, Uuid) = (row.get(0), row.get(1));
    if !actor.may_edit(author) {
        return Err(DomainError::Forbidden(
            "only its author or a manager deletes a comment".into(),
        ));
    }
    tx.execute("delete from comments where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "delete",
            entity: "comment",
            entity_id: Some(id),
            changes: json!({"contract_id": contract_id}),
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::mentioned_emails;

    #[test]
    fn mentions_are_at_addresses_not_the_addresses_inside_text() {
        assert_eq!(
            mentioned_emails("Ping @Ann@acme.example and @bob@acme.example. Mail carol@acme.example, @ann@acme.example again"),
            ["ann@acme.example", "bob@acme.example"]
        );
        assert!(mentioned_emails("no mentions @ all, @@x").is_empty());
    }
}
