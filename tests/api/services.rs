//! Business logic without HTTP: what a job or a timer will do. The services run on a
//! tenant transaction with `Actor::System` and a job `Origin`, and what they do is
//! audited as the system's; and deleting a record takes what hangs off it along.

use pactum::comments::{self, NewComment};
use pactum::contracts::model::CONTRACT_TARGET;
use pactum::contracts::{self, Status};
use pactum::kernel::page::PageRequest;
use pactum::kernel::target::Target;
use pactum::kernel::{Actor, Origin, Principal};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::scoped::TenantDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::{spawn_app, tenant_with_admin, PASSWORD};
use crate::support::TestDb;

const HOST: &str = "acme.localhost";

async fn tenant_db(db: &TestDb) -> TenantDb {
    let pool = RequestPool::new(&db.database_url(), 2, Pooler::None).unwrap();
    crate::app::tenant_db(db, "acme", pool).await
}

#[tokio::test]
async fn a_job_comments_and_moves_a_contract_as_the_system_and_is_audited_as_such() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let token = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    let created: Value = app
        .call(
            Method::POST,
            HOST,
            "/api/v1/contracts",
            &token,
            Some(json!({"title": "Renewal due", "contract_type": "nda", "body": "text"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let contract: Uuid = created["id"].as_str().unwrap().parse().unwrap();

    // What an SLA timer would do: no request, no user.
    let tenant = tenant_db(&db).await;
    let job: i64 = 4242;
    let system = Actor::system("sla-timer");
    let origin = Origin::job(job, "sla");
    let tx = tenant.begin().await.unwrap();
    let comment = comments::service::create(
        &tx,
        &system,
        &origin,
        Target::new(&CONTRACT_TARGET, contract),
        NewComment {
            body: "Review is overdue; @admin@example.com please look.".into(),
        },
    )
    .await
    .unwrap();
    let moved =
        contracts::service::transition(&tx, &system, &origin, contract, Status::InReview, Some(1))
            .await
            .unwrap();
    tx.commit().await.unwrap();
    // Reads too: the list route's logic, as the system.
    let drafts = contracts::search::list(
        &tenant,
        &Principal::System("sla-timer"),
        &contracts::search::ContractFilter {
            status: Some("in_review".into()),
            ..Default::default()
        },
        &PageRequest::parse(None, None, 100).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        drafts.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [contract]
    );
    assert_eq!(comment.author_id, None);
    assert_eq!(comment.mentions.len(), 1, "the admin is mentioned");
    assert_eq!(moved.status, Status::InReview);

    let audit: Value = app
        .call(
            Method::GET,
            HOST,
            "/api/v1/audit-logs?actor_kind=system",
            &token,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["items"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["entity"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("contract", "transition"), ("comment", "create")]);
    for entry in entries {
        assert_eq!(entry["actor_kind"], "system");
        assert_eq!(entry["actor_id"], Value::Null);
        assert_eq!(entry["ip"], Value::Null);
        assert_eq!(entry["request_id"], format!("job:sla:{job}"));
    }
    let by_users: Value = app
        .call(
            Method::GET,
            HOST,
            "/api/v1/audit-logs?actor_kind=user",
            &token,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(by_users["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor_kind"] == "user" && e["actor_id"].is_string()));
}

#[tokio::test]
async fn the_system_still_obeys_the_rules_of_the_domain() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let tenant = tenant_db(&db).await;
    let system = Actor::system("test");
    let origin = Origin::job(7, "test");
    let tx = tenant.begin().await.unwrap();
    // Creating without an owner: the system has no user to own it.
    let principal = Principal::System("test");
    let request: contracts::CreateContract = serde_json::from_value(
        json!({"title": "Made by a job", "contract_type": "nda", "body": "x"}),
    )
    .unwrap();
    let error = contracts::insert_contract(&tx, &principal, &origin, request)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    // Naming an owner, it may; and a transition the lifecycle does not allow is
    // refused for the system as for anyone.
    let owner: Uuid = db
        .client()
        .await
        .query_one("select id from t_acme.users", &[])
        .await
        .unwrap()
        .get(0);
    let request: contracts::CreateContract = serde_json::from_value(json!({
        "title": "Made by a job", "contract_type": "nda", "body": "x", "owner_id": owner
    }))
    .unwrap();
    let made = contracts::insert_contract(&tx, &principal, &origin, request)
        .await
        .unwrap();
    assert_eq!((made.owner_id, made.status), (owner, Status::Draft));
    let error =
        contracts::service::transition(&tx, &system, &origin, made.id, Status::Executed, None)
            .await
            .unwrap_err();
    assert_eq!(error.code(), "invalid_transition");
}

#[tokio::test]
async fn deleting_a_draft_takes_its_comments_and_files_along() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let token = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    let created: Value = app
        .call(
            Method::POST,
            HOST,
            "/api/v1/contracts",
            &token,
            Some(json!({"title": "Short-lived", "contract_type": "nda", "body": "text"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let comment = app
        .call(
            Method::POST,
            HOST,
            &format!("/api/v1/contracts/{id}/comments"),
            &token,
            Some(json!({"body": "first"})),
        )
        .await;
    assert_eq!(comment.status(), StatusCode::CREATED);
    let comment: Value = comment.json().await.unwrap();
    assert_eq!(
        (
            comment["target_kind"].as_str(),
            comment["target_id"].as_str()
        ),
        (Some("contract"), Some(id))
    );
    let part = reqwest::multipart::Part::bytes(b"hello".to_vec())
        .file_name("a.txt")
        .mime_str("text/plain")
        .unwrap();
    let uploaded = app
        .request(
            Method::POST,
            HOST,
            &format!("/api/v1/contracts/{id}/attachments"),
        )
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let file: Value = uploaded.json().await.unwrap();
    assert_eq!(file["target_kind"], "contract");
    let folders: Vec<_> = std::fs::read_dir(&app.upload_dir)
        .unwrap()
        .flatten()
        .collect();
    let on_disk = folders[0].path().join(file["id"].as_str().unwrap());
    assert!(on_disk.exists());

    let deleted = app
        .call(
            Method::DELETE,
            HOST,
            &format!("/api/v1/contracts/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(!on_disk.exists(), "the file went with its contract");
    let client = db.client().await;
    for table in ["comments", "attachments"] {
        let left: i64 = client
            .query_one(&format!("select count(*) from t_acme.{table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "{table}");
    }
}

/// A transaction PostgreSQL rolls back to break a deadlock left nothing behind and
/// can succeed when tried again: the domain error says "unavailable" (a 503 with
/// Retry-After), never "internal" (a 500).
#[tokio::test]
async fn a_transaction_lost_to_a_deadlock_is_unavailable_not_internal() {
    let db = TestDb::migrated().await;
    let setup = db.client().await;
    setup
        .batch_execute(
            "create table public.deadlock_probe (id int primary key); \
             insert into public.deadlock_probe values (1), (2)",
        )
        .await
        .unwrap();
    let (first, second) = (db.client().await, db.client().await);
    first
        .batch_execute("begin; update public.deadlock_probe set id = id where id = 1")
        .await
        .unwrap();
    second
        .batch_execute("begin; update public.deadlock_probe set id = id where id = 2")
        .await
        .unwrap();
    // Each now waits for the row the other holds; PostgreSQL rolls one back.
    let (a, b) = tokio::join!(
        first.execute("update public.deadlock_probe set id = id where id = 2", &[]),
        second.execute("update public.deadlock_probe set id = id where id = 1", &[]),
    );
    let lost = match (a, b) {
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => error,
        other => panic!("one of the two should lose: {other:?}"),
    };
    let error = pactum::kernel::DomainError::database(lost);
    assert_eq!(error.code(), "service_unavailable", "{error:?}");
}
