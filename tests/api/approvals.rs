//! Approval workflows through the real server: the seed's definition end to end, rules
//! and their refusals, priorities and ties, all / any / quorum, delegation and
//! out-of-office, self-approval, voiding on a material edit, SLA timers over a weekend
//! and a holiday (a manual clock; nothing sleeps for an SLA), concurrent decisions,
//! temporary role grants and role enforcement.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use pactum::kernel::clock::{ManualClock, SharedClock};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{code, spawn_app, spawn_app_with_clock, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;

const HOST: &str = "acme.localhost";

struct World {
    app: TestApp,
    admin: String,
    /// email -> (user id, token)
    people: HashMap<String, (String, String)>,
    clock: Option<std::sync::Arc<ManualClock>>,
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app.call(method, HOST, path, token, body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

impl World {
    /// A tenant with `people` (`name`, role; email `<name>@example.com`) and `teams`.
    async fn new(
        db: &TestDb,
        clock: Option<std::sync::Arc<ManualClock>>,
        people: &[(&str, &str)],
        teams: &[(&str, &[&str])],
    ) -> Self {
        tenant_with_admin(db, "acme", PASSWORD).await;
        let settings = [("PACTUM_JOB_POLL_MS", "50")];
        let app = match &clock {
            Some(manual) => {
                spawn_app_with_clock(db, &settings, manual.clone() as SharedClock).await
            }
            None => spawn_app(db, &settings).await,
        };
        let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
        let mut world = World {
            app,
            admin,
            people: HashMap::new(),
            clock,
        };
        for (name, role) in people {
            let email = format!("{name}@example.com");
            let (status, user) = world
                .admin(Method::POST, "/api/v1/users", Some(json!({"email": email, "display_name": name, "role": role, "password": PASSWORD})))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{user}");
            let token = world.app.access_token(HOST, &email, PASSWORD).await;
            world.people.insert(
                (*name).to_owned(),
                (user["id"].as_str().unwrap().to_owned(), token),
            );
        }
        for (team, members) in teams {
            let (status, created) = world
                .admin(Method::POST, "/api/v1/teams", Some(json!({"name": team})))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            for member in *members {
                let path = format!(
                    "/api/v1/teams/{}/members/{}",
                    created["id"].as_str().unwrap(),
                    world.id(member)
                );
                let (status, body) = world.admin(Method::PUT, &path, None).await;
                assert!(status.is_success(), "{status} {body}");
            }
        }
        world
    }

    fn id(&self, name: &str) -> String {
        self.people[name].0.clone()
    }

    fn token(&self, name: &str) -> String {
        self.people[name].1.clone()
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        call(&self.app, &self.admin, method, path, body).await
    }

    async fn as_(
        &self,
        name: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(&self.app, &self.token(name), method, path, body).await
    }

    /// Logs everyone in again (after the clock moved past their tokens' expiry).
    async fn relogin(&mut self) {
        self.admin = self
            .app
            .access_token(HOST, "admin@example.com", PASSWORD)
            .await;
        let names: Vec<String> = self.people.keys().cloned().collect();
        for name in names {
            let token = self
                .app
                .access_token(HOST, &format!("{name}@example.com"), PASSWORD)
                .await;
            self.people.get_mut(&name).unwrap().1 = token;
        }
    }

    async fn define(&self, definition: Value) -> Value {
        let (status, body) = self
            .admin(Method::POST, "/api/v1/workflows", Some(definition))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// A draft owned by `owner`, of `kind` and `value`.
    async fn contract(&self, owner: &str, kind: &str, value: &str) -> String {
        let (status, body) = self
            .as_(
                owner,
                Method::POST,
                "/api/v1/contracts",
                Some(
                    json!({"title": format!("{kind} {value}"), "contract_type": kind,
                "value": value, "currency": "EUR", "body": "Terms."}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn submit(&self, owner: &str, contract: &str) -> (StatusCode, Value) {
        self.as_(
            owner,
            Method::POST,
            &format!("/api/v1/contracts/{contract}/transition"),
            Some(json!({"to": "in_review"})),
        )
        .await
    }

    async fn workflow(&self, contract: &str) -> Value {
        let (status, body) = self
            .admin(
                Method::GET,
                &format!("/api/v1/contracts/{contract}/workflow"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn status(&self, contract: &str) -> String {
        let (_, body) = self
            .admin(Method::GET, &format!("/api/v1/contracts/{contract}"), None)
            .await;
        body["status"].as_str().unwrap().to_owned()
    }

    /// The pending approval `name` holds on `contract`'s current round.
    async fn pending(&self, contract: &str, name: &str) -> String {
        let workflow = self.workflow(contract).await;
        let id = self.id(name);
        for stage in workflow["current"]["stages"].as_array().unwrap() {
            for approval in stage["approvals"].as_array().unwrap() {
                if approval["approver_id"] == id.as_str() && approval["state"] == "pending" {
                    return approval["id"].as_str().unwrap().to_owned();
                }
            }
        }
        panic!("{name} holds no pending approval: {workflow:#}");
    }

    async fn decide(
        &self,
        name: &str,
        approval: &str,
        action: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.as_(
            name,
            Method::POST,
            &format!("/api/v1/approvals/{approval}/{action}"),
            Some(body),
        )
        .await
    }

    async fn events(&self, pattern: &str) -> Vec<Value> {
        let (status, body) = self
            .admin(
                Method::GET,
                &format!("/api/v1/events?type={pattern}&limit=200"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().unwrap().clone()
    }

    /// Waits (for the job runner, not for an SLA) until an event of `event_type` about
    /// `entity` exists.
    async fn until_event(&self, event_type: &str, entity: &str) -> Value {
        for _ in 0..200 {
            if let Some(found) = self
                .events(event_type)
                .await
                .into_iter()
                .find(|e| e["entity_id"] == entity)
            {
                return found;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        panic!("no {event_type} event for {entity}");
    }

    fn advance_to(&self, at: DateTime<Utc>) {
        let clock = self.clock.as_ref().unwrap();
        let now = pactum::kernel::clock::Clock::now(clock.as_ref());
        clock.advance(at - now);
    }
}

fn seed_definition() -> Value {
    json!({"name": "High Value Contract Approval",
     "description": "For contracts over 500k",
     "trigger_conditions": {"value__gte": "500000", "contract_type__in": ["msa", "sow"]},
     "stages": [
       {"stage_name": "Legal Review", "sequence": 1, "approvers": ["legal"],
        "approval_type": "all", "sla_hours": 48, "is_required": true},
       {"stage_name": "Finance Approval", "sequence": 2, "approvers": ["finance", "cfo"],
        "approval_type": "any", "sla_hours": 24, "is_required": true},
       {"stage_name": "Executive Sign-Off", "sequence": 3, "approvers": ["ceo"],
        "approval_type": "all", "sla_hours": 72, "is_required": true}],
     "priority": 100, "is_active": true})
}

fn stage(workflow: &Value, sequence: i64) -> Value {
    workflow["current"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sequence"] == sequence)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_seed_definition_runs_from_submission_to_approval() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("lars", "member"),
            ("finn", "member"),
            ("cleo", "member"),
            ("carl", "member"),
            ("max", "manager"),
            ("vera", "viewer"),
        ],
        &[
            ("legal", &["lena", "lars", "vera"]),
            ("finance", &["finn"]),
            ("cfo", &["cleo"]),
            ("ceo", &["carl"]),
        ],
    )
    .await;
    let definition = world.define(seed_definition()).await;
    assert_eq!(definition["version"], 1);
    assert_eq!(
        definition["stages"][1]["approvers"],
        json!(["finance", "cfo"])
    );

    let contract = world.contract("olive", "msa", "750000").await;
    let (status, body) = world.submit("olive", &contract).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(
        workflow["current"]["definition_name"],
        "High Value Contract Approval"
    );
    assert_eq!(workflow["current"]["state"], "running");
    let legal = stage(&workflow, 1);
    assert_eq!(legal["state"], "active");
    assert_eq!(
        legal["required_approvals"], 2,
        "all of legal who may act (a viewer in the team is not asked)"
    );
    assert!(legal["due_at"].is_string(), "48 business hours from now");
    assert_eq!(stage(&workflow, 2)["state"], "waiting");

    // A manager cannot go around the workflow.
    let (status, body) = world
        .as_(
            "max",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/transition"),
            Some(json!({"to": "approved"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("workflow_in_progress")),
        "{body}"
    );

    // Legal: all of them.
    let lena = world.pending(&contract, "lena").await;
    let (status, body) = world.decide("lena", &lena, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "approved");
    assert_eq!(
        stage(&world.workflow(&contract).await, 1)["state"],
        "active",
        "one of two"
    );
    // Someone else cannot act on lena's approval or lars's.
    let lars = world.pending(&contract, "lars").await;
    let (status, _) = world.decide("lena", &lars, "approve", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A malformed body is refused, not taken for an absent one; no body at all is fine.
    for (content_type, body) in [
        ("application/json", "{\"comment\": 5}"),
        ("application/json", "not json"),
    ] {
        let response = world
            .app
            .request(
                Method::POST,
                HOST,
                &format!("/api/v1/approvals/{lars}/approve"),
            )
            .bearer_auth(world.token("lars"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let response = world
        .app
        .request(
            Method::POST,
            HOST,
            &format!("/api/v1/approvals/{lars}/approve"),
        )
        .bearer_auth(world.token("lars"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "no body");

    // Finance: any of finance or the CFO.
    let workflow = world.workflow(&contract).await;
    assert_eq!(stage(&workflow, 1)["state"], "approved");
    assert_eq!(stage(&workflow, 2)["state"], "active");
    assert_eq!(stage(&workflow, 2)["required_approvals"], 1);
    let finn = world.pending(&contract, "finn").await;
    let cleo = world.pending(&contract, "cleo").await;
    let (status, _) = world.decide("cleo", &cleo, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = world.decide("finn", &finn, "approve", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_decided")),
        "{body}"
    );

    // Executive sign-off; a repeated click is idempotent.
    let carl = world.pending(&contract, "carl").await;
    let (first, once) = world.decide("carl", &carl, "approve", json!({})).await;
    let (second, twice) = world.decide("carl", &carl, "approve", json!({})).await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        once["decided_at"], twice["decided_at"],
        "the second click changed nothing"
    );
    let (status, body) = world
        .decide(
            "carl",
            &carl,
            "reject",
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_decided"))
    );

    assert_eq!(world.status(&contract).await, "approved");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["state"], "approved");
    assert_eq!(world.events("workflow_run.approved").await.len(), 1);
    assert_eq!(world.events("approval.approved").await.len(), 4);
    assert_eq!(
        world.events("workflow_stage.completed").await.len(),
        3,
        "each stage completed once"
    );
    let approved = world.events("contract.status_changed").await;
    assert_eq!(approved.last().unwrap()["current"]["status"], "approved");
    assert_eq!(
        approved.last().unwrap()["actor_kind"],
        "system",
        "the workflow approved it"
    );

    // Approvers find what they did.
    let (_, mine) = world
        .as_(
            "carl",
            Method::GET,
            "/api/v1/approvals?state=approved",
            None,
        )
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (status, _) = world
        .as_("carl", Method::GET, "/api/v1/approvals?scope=all", None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "everyone's approvals are for managers"
    );
    let (status, all) = world
        .as_("max", Method::GET, "/api/v1/approvals?scope=all", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);

    let (status, analytics) = world
        .as_("max", Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{analytics}");
    assert_eq!(analytics["started"], 1);
    assert_eq!(analytics["completion_rate"], 1.0);
    assert_eq!(analytics["within_sla_share"], 1.0);
    assert_eq!(analytics["stages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn values_postgresql_refuses_are_refused_at_save_and_a_broken_stored_rule_matches_nothing() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member")],
        &[("legal", &["lena"])],
    )
    .await;
    let stages = json!([{"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"}]);
    for rule in [
        json!({"start_date__lt": "0000-01-01"}),
        json!({"end_date__gte": "-001-01-01"}),
        json!({"end_date__gte": "+999-01-01"}),
        json!({"any": [{"value__gte": "1"}, {"start_date__in": ["2026-01-01", "0000-12-31"]}]}),
    ] {
        let (status, body) = world
            .admin(
                Method::POST,
                "/api/v1/workflows",
                Some(json!({"name": "Bad", "trigger_conditions": rule, "priority": 5, "stages": stages})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {body}");
    }
    // A UUID in another spelling is stored as PostgreSQL reads it.
    let lena = world.id("lena");
    world
        .define(
            json!({"name": "Lena's", "trigger_conditions": {"owner": format!("urn:uuid:{lena}")},
            "priority": 4, "stages": stages}),
        )
        .await;
    world
        .define(json!({"name": "Good", "trigger_conditions": {}, "priority": 1, "stages": stages}))
        .await;
    // A definition saved before these checks, with a value PostgreSQL refuses, at the
    // top priority: it matches nothing, and every other definition still does.
    let broken = world
        .define(json!({"name": "Old", "trigger_conditions": {}, "priority": 9, "stages": stages}))
        .await;
    db.client()
        .await
        .execute(
            "update t_acme.workflow_definitions \
             set trigger_conditions = '{\"start_date__lt\": \"0000-01-01\"}', version = version + 1 \
             where id = $1",
            &[&broken["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();
    let contract = world.contract("olive", "nda", "10").await;
    let (status, body) = world.submit("olive", &contract).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(
        workflow["current"]["definition_name"], "Good",
        "{workflow:#}"
    );
}

#[tokio::test]
async fn a_deactivated_approver_hands_over_at_once_and_users_holding_records_are_not_deleted() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("finn", "member"),
            ("temp", "member"),
        ],
        &[("legal", &["lena"]), ("backup", &["finn"])],
    )
    .await;
    world
        .define(
            json!({"name": "Legal", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all",
             "sla_hours": 8, "escalation": {"action": "reassign", "team": "backup"}}]}),
        )
        .await;
    let contract = world.contract("olive", "nda", "10").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    world.pending(&contract, "lena").await;

    for who in ["olive", "lena"] {
        let response = world
            .app
            .call(
                Method::DELETE,
                HOST,
                &format!("/api/v1/users/{}", world.id(who)),
                &world.admin,
                None,
            )
            .await;
        let (status, error) = code(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::CONFLICT, "user_holds_records"),
            "{who}"
        );
    }
    let (status, _) = world
        .admin(
            Method::DELETE,
            &format!("/api/v1/users/{}", world.id("temp")),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a user who holds nothing goes"
    );

    // Lena leaves: her pending approval goes to the stage's escalation team at once.
    let (status, body) = world
        .admin(
            Method::PATCH,
            &format!("/api/v1/users/{}", world.id("lena")),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let finn = world.pending(&contract, "finn").await;
    let (status, body) = world.decide("finn", &finn, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(world.status(&contract).await, "approved");
}

#[tokio::test]
async fn an_sla_the_business_calendar_cannot_give_is_refused_with_a_reason() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member")],
        &[("legal", &["lena"])],
    )
    .await;
    // Holidays on every Monday for decades leave a Monday-only week no working time.
    let first_monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let mondays: Vec<String> = (0..1500)
        .map(|week| (first_monday + Duration::weeks(week)).to_string())
        .collect();
    let (status, body) = world
        .admin(
            Method::PUT,
            "/api/v1/business-calendar",
            Some(json!({"timezone": "UTC",
            "working_days": ["mon"], "start": "09:00", "end": "17:00", "holidays": mondays})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // One minute of work a week: a calendar, but 1,000 business hours take centuries.
    let one_minute = json!({"timezone": "UTC", "working_days": ["mon"], "start": "09:00", "end": "09:01", "holidays": []});
    let stages = |sla: u32| {
        json!([{"stage_name": "Legal", "sequence": 1, "approvers": ["legal"],
        "approval_type": "all", "sla_hours": sla}])
    };
    world
        .define(
            json!({"name": "Slow", "trigger_conditions": {}, "priority": 1, "stages": stages(200)}),
        )
        .await;
    let (status, body) = world
        .admin(Method::PUT, "/api/v1/business-calendar", Some(one_minute))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = world
        .admin(
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"name": "Slower", "trigger_conditions": {},
            "priority": 2, "stages": stages(1000)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("sla_hours"),
        "{body}"
    );
    // A definition saved under a wider calendar: refused at submission, nothing changed.
    let contract = world.contract("olive", "nda", "10").await;
    let (status, body) = world.submit("olive", &contract).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "sla_unreachable", "{body}");
    assert_eq!(world.status(&contract).await, "draft");
}

#[tokio::test]
async fn a_rejection_rejects_and_needs_a_reason_and_editing_a_definition_leaves_running_rounds_alone(
) {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("finn", "member")],
        &[("legal", &["lena"]), ("finance", &["finn"])],
    )
    .await;
    let definition = world
        .define(json!({"name": "Two step", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all"}]}))
        .await;
    let contract = world.contract("olive", "nda", "10").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);

    // The definition changes: the running round keeps its two stages.
    let id = definition["id"].as_str().unwrap();
    let (status, edited) = world
        .admin(Method::PUT, &format!("/api/v1/workflows/{id}"), Some(json!({"name": "Two step", "trigger_conditions": {}, "priority": 1,
            "stages": [{"stage_name": "Only legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"}]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["version"], 2);
    let (_, versions) = world
        .admin(
            Method::GET,
            &format!("/api/v1/workflows/{id}/versions"),
            None,
        )
        .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);

    let lena = world.pending(&contract, "lena").await;
    let (status, body) = world.decide("lena", &lena, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["definition_version"], 1);
    assert_eq!(
        stage(&workflow, 2)["state"],
        "active",
        "version 1's second stage still runs"
    );

    let finn = world.pending(&contract, "finn").await;
    for bad in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "x".repeat(2001)}),
    ] {
        let (status, body) = world.decide("finn", &finn, "reject", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = world
        .decide(
            "finn",
            &finn,
            "reject",
            json!({"reason": "Payment terms too long"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(world.status(&contract).await, "rejected");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["state"], "rejected");
    assert!(workflow["current"]["reason"]
        .as_str()
        .unwrap()
        .contains("Payment terms too long"));
}

#[tokio::test]
async fn rules_priorities_ties_matching_coverage_and_hostile_definitions() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("vic", "viewer")],
        &[("legal", &["lena"])],
    )
    .await;
    let stages = json!([{"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "any"}]);
    let big = world
        .define(json!({"name": "Big", "trigger_conditions": {"value__gte": "500000"}, "priority": 100, "stages": stages}))
        .await;
    let msa = world
        .define(json!({"name": "MSA", "trigger_conditions": {"contract_type__in": ["msa"], "not": {"tags__contains": "waived"}},
            "priority": 50, "stages": stages}))
        .await;
    // Matching at submission skips definitions whose stored facts (types, lowest value)
    // rule the contract out, and evaluates the rest: the result is the report's winner.
    let sow_only = world
        .define(json!({"name": "Sow only", "trigger_conditions": {"all": [{"type": "sow"}], "value__gt": "100"},
            "priority": 60, "stages": stages}))
        .await;
    let sow = world.contract("olive", "sow", "150").await;
    let (_, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract_id": sow})),
        )
        .await;
    assert_eq!(report["winner"], sow_only["id"]);
    assert_eq!(world.submit("olive", &sow).await.0, StatusCode::OK);
    assert_eq!(
        world.workflow(&sow).await["current"]["definition_id"],
        sow_only["id"]
    );

    // A tie with an active definition is refused; an inactive one may share.
    let (status, body) = world
        .admin(
            Method::POST,
            "/api/v1/workflows",
            Some(
                json!({"name": "Tie", "trigger_conditions": {}, "priority": 100, "stages": stages}),
            ),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("priority_taken")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("Big"));
    let (status, _) = world
        .admin(Method::POST, "/api/v1/workflows", Some(json!({"name": "Tie", "trigger_conditions": {}, "priority": 100, "is_active": false, "stages": stages})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = world
        .admin(
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"name": "big", "trigger_conditions": {}, "priority": 7, "stages": stages})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken"))
    );

    // Matching explains itself, for a stored contract and for a draft.
    let contract = world.contract("olive", "msa", "900000").await;
    let (status, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract_id": contract})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["winner"], big["id"], "the highest priority wins");
    assert_eq!(
        report["definitions"].as_array().unwrap().len(),
        3,
        "active ones only"
    );
    let (_, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract": {"contract_type": "msa", "value": "10", "tags": ["waived"]}})),
        )
        .await;
    assert_eq!(report["winner"], Value::Null);
    let failing: HashMap<String, Value> = report["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["failing_conditions"].clone(),
            )
        })
        .collect();
    assert_eq!(failing["Big"], json!(["value__gte"]));
    assert_eq!(
        failing["MSA"],
        json!(["not.tags__contains"]),
        "the negated condition holds, so `not` fails"
    );
    let (_, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract": {"contract_type": "msa", "value": "10"}})),
        )
        .await;
    assert_eq!(report["winner"], msa["id"]);
    for bad in [
        json!({}),
        json!({"contract_id": contract, "contract": {}}),
        json!({"contract": {"value": "ten"}}),
    ] {
        let (status, body) = world
            .as_(
                "vic",
                Method::POST,
                "/api/v1/workflows/match",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract_id": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A submission nothing matches: approved by a manager as before, and listed as uncovered...
    let small = world.contract("olive", "nda", "5").await;
    assert_eq!(world.submit("olive", &small).await.0, StatusCode::OK);
    let (_, coverage) = world
        .admin(Method::GET, "/api/v1/workflows/coverage", None)
        .await;
    let uncovered: Vec<&Value> = coverage["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["contract_id"])
        .collect();
    assert_eq!(uncovered, vec![&json!(small)]);
    // ...or refused, when the tenant says so.
    let (status, _) = world
        .admin(
            Method::PUT,
            "/api/v1/workflow-settings",
            Some(json!({"unmatched": "refuse"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let another = world.contract("olive", "nda", "6").await;
    let (status, body) = world.submit("olive", &another).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_workflow_matches")),
        "{body}"
    );
    assert_eq!(
        world.status(&another).await,
        "draft",
        "nothing half-written"
    );

    // Hostile or broken definitions: a 400 naming the path, and nothing stored.
    let (_, before) = world.admin(Method::GET, "/api/v1/workflows", None).await;
    let mut deep = json!({"value": "1"});
    for _ in 0..1000 {
        deep = json!({"not": deep});
    }
    // Ten thousand values fit the 64 KB body limit as numbers; the rule limit refuses them.
    let huge: Vec<u32> = (0..10_000).collect();
    for (rule, path) in [
        (
            json!({"value; drop table contracts; --__gte": "1"}),
            Some("trigger_conditions.value; drop table"),
        ),
        (
            json!({"value__in": huge}),
            Some("trigger_conditions.value__in"),
        ),
        (deep, None),
        (
            json!({"value__gte": "lots"}),
            Some("trigger_conditions.value__gte"),
        ),
        (
            json!({"metadata__a'b": "x"}),
            Some("trigger_conditions.metadata__a'b"),
        ),
        (
            json!({"any": [{"owner__exact": "not-a-uuid"}]}),
            Some("trigger_conditions.any[0].owner__exact"),
        ),
        (json!({"colour": "red"}), Some("trigger_conditions.colour")),
        (
            json!({"value__between": ["1", "2"]}),
            Some("trigger_conditions.value__between"),
        ),
    ] {
        let definition =
            json!({"name": "Hostile", "trigger_conditions": rule, "priority": 3, "stages": stages});
        let (status, body) = world
            .admin(Method::POST, "/api/v1/workflows", Some(definition))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        if let Some(path) = path {
            assert!(
                body["message"].as_str().unwrap().starts_with(path),
                "{} lacks {path}",
                body["message"]
            );
        }
    }
    for (edit, path) in [
        (
            json!([{"stage_name": "X", "sequence": 1, "approvers": ["nobody-team"], "approval_type": "all"}]),
            "stages[0].approvers[0]",
        ),
        (
            json!([{"stage_name": "X", "sequence": 1, "approvers": ["ghost@example.com"], "approval_type": "all"}]),
            "stages[0].approvers[0]",
        ),
        (
            json!([{"stage_name": "X", "sequence": 1, "approvers": ["legal"], "approval_type": "all", "escalation": {"action": "notify", "team": "legal"}}]),
            "stages[0].escalation",
        ),
    ] {
        let definition =
            json!({"name": "Broken", "trigger_conditions": {}, "priority": 4, "stages": edit});
        let (status, body) = world
            .admin(Method::POST, "/api/v1/workflows", Some(definition))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().starts_with(path),
            "{body}"
        );
    }
    let (status, _) = world
        .admin(Method::POST, "/api/v1/workflows", Some(json!({"name": "Extra", "trigger_conditions": {}, "priority": 5, "stages": stages, "owner": "me"})))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused"
    );
    let (_, after) = world.admin(Method::GET, "/api/v1/workflows", None).await;
    assert_eq!(before, after, "nothing stored");

    // Roles: definitions are for admins.
    let (status, _) = world
        .as_(
            "olive",
            Method::POST,
            "/api/v1/workflows",
            Some(
                json!({"name": "Mine", "trigger_conditions": {}, "priority": 9, "stages": stages}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = world
        .as_(
            "olive",
            Method::DELETE,
            &format!("/api/v1/workflows/{}", big["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = world
        .as_(
            "olive",
            Method::PUT,
            "/api/v1/workflow-settings",
            Some(json!({"unmatched": "manager_approval"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = world
        .as_("olive", Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "analytics are for managers");
    let (status, _) = world
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/workflow"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "starting by hand is for admins"
    );
}

#[tokio::test]
async fn quorum_delegation_out_of_office_and_self_approval() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("ann", "member"),
            ("bob", "member"),
            ("cid", "member"),
            ("dee", "member"),
            ("eve", "member"),
        ],
        &[("board", &["olive", "ann", "bob", "cid"])],
    )
    .await;
    world
        .define(json!({"name": "Board", "trigger_conditions": {"contract_type": "msa"}, "priority": 10, "stages": [
            {"stage_name": "Board vote", "sequence": 1, "approvers": ["board"], "approval_type": "quorum", "quorum": 2}]}))
        .await;
    world
        .define(json!({"name": "Own", "trigger_conditions": {"contract_type": "sow"}, "priority": 9, "allow_self_approval": true, "stages": [
            {"stage_name": "Self", "sequence": 1, "approvers": ["olive@example.com"], "approval_type": "all"}]}))
        .await;
    world
        .define(json!({"name": "Owner only", "trigger_conditions": {"contract_type": "nda"}, "priority": 8, "stages": [
            {"stage_name": "Self", "sequence": 1, "approvers": ["user:olive@example.com"], "approval_type": "all"}]}))
        .await;

    // Cid is away, with Eve approving in his place.
    let (status, body) = world
        .as_("cid", Method::PUT, "/api/v1/out-of-office", Some(json!({"delegate_id": world.id("eve"),
            "starts_at": Utc::now() - Duration::hours(1), "ends_at": Utc::now() + Duration::days(7), "note": "holiday"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = world
        .as_(
            "cid",
            Method::PUT,
            "/api/v1/out-of-office",
            Some(json!({"delegate_id": world.id("cid"),
            "starts_at": Utc::now(), "ends_at": Utc::now() + Duration::days(1)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not to oneself");

    let contract = world.contract("olive", "msa", "1").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let workflow = world.workflow(&contract).await;
    let vote = stage(&workflow, 1);
    assert_eq!(vote["required_approvals"], 2);
    let approvals = vote["approvals"].as_array().unwrap();
    let holders: Vec<(&str, &str)> = approvals
        .iter()
        .map(|a| {
            (
                a["approver_id"].as_str().unwrap(),
                a["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        !holders.iter().any(|(u, _)| *u == world.id("olive")),
        "the owner is not asked to approve their own contract"
    );
    let cid = approvals
        .iter()
        .find(|a| a["approver_id"] == world.id("cid").as_str())
        .unwrap();
    assert_eq!(cid["state"], "delegated", "recorded as delegated");
    let eve = approvals
        .iter()
        .find(|a| a["approver_id"] == world.id("eve").as_str())
        .unwrap();
    assert_eq!(
        (eve["state"].as_str(), eve["assigned_via"].as_str()),
        (Some("pending"), Some("out_of_office"))
    );
    assert_eq!(eve["delegated_from"], cid["id"]);

    // Ann delegates to Dee; delegating to the owner or a current approver is refused.
    let ann = world.pending(&contract, "ann").await;
    for (to, refusal) in [("olive", "self_approval"), ("bob", "already_an_approver")] {
        let (status, body) = world
            .decide("ann", &ann, "delegate", json!({"to_user_id": world.id(to)}))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::CONFLICT, Some(refusal))
        );
    }
    let (status, dee) = world
        .decide(
            "ann",
            &ann,
            "delegate",
            json!({"to_user_id": world.id("dee"), "reason": "travelling"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dee}");
    assert_eq!(dee["approver_id"], world.id("dee").as_str());
    assert_eq!(dee["delegated_from"], ann.as_str(), "the chain is kept");
    let (status, again) = world
        .decide(
            "ann",
            &ann,
            "delegate",
            json!({"to_user_id": world.id("dee"), "reason": "travelling"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a repeated delegation is idempotent"
    );
    assert_eq!(again["id"], dee["id"]);
    let (status, _) = world
        .decide(
            "ann",
            &ann,
            "delegate",
            json!({"to_user_id": world.id("eve")}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "but not a different one");
    let (status, _) = world.decide("ann", &ann, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "ann passed it on");

    // Quorum: two of them.
    let (status, _) = world
        .decide("dee", dee["id"].as_str().unwrap(), "approve", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.status(&contract).await, "in_review", "one of two");
    let eve_id = eve["id"].as_str().unwrap();
    let (status, _) = world.decide("eve", eve_id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.status(&contract).await, "approved");
    let bob = stage(&world.workflow(&contract).await, 1)["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["approver_id"] == world.id("bob").as_str())
        .unwrap()
        .clone();
    assert_eq!(bob["state"], "not_needed");

    // Self-approval: refused unless the definition allows it.
    let nda = world.contract("olive", "nda", "1").await;
    let (status, body) = world.submit("olive", &nda).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_approvers")),
        "{body}"
    );
    let sow = world.contract("olive", "sow", "1").await;
    assert_eq!(world.submit("olive", &sow).await.0, StatusCode::OK);
    let own = world.pending(&sow, "olive").await;
    let (status, _) = world.decide("olive", &own, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.status(&sow).await, "approved");

    let (status, _) = world
        .as_("cid", Method::DELETE, "/api/v1/out-of-office", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = world
        .as_("cid", Method::GET, "/api/v1/out-of-office", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_material_edit_voids_the_round_and_restarts_it() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("lars", "member")],
        &[("legal", &["lena", "lars"])],
    )
    .await;
    world
        .define(json!({"name": "Legal", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"}]}))
        .await;
    let contract = world.contract("olive", "msa", "100").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let lena_first = world.pending(&contract, "lena").await;
    assert_eq!(
        world
            .decide("lena", &lena_first, "approve", json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let lars_first = world.pending(&contract, "lars").await;

    // Tags are not material: the round goes on.
    let (_, current) = world
        .admin(Method::GET, &format!("/api/v1/contracts/{contract}"), None)
        .await;
    let (status, body) = world
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/contracts/{contract}"),
            Some(json!({"tags": ["q4"], "version": current["version"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(world.workflow(&contract).await["current"]["round"], 1);

    // The value is: the round is voided, with the reason, and a new one starts.
    let (status, body) = world
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/contracts/{contract}"),
            Some(json!({"value": "250", "version": body["version"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["round"], 2);
    assert_eq!(workflow["current"]["state"], "running");
    assert_eq!(workflow["current"]["contract_version"], body["version"]);
    assert_eq!(workflow["earlier"][0]["state"], "voided");
    assert_eq!(workflow["earlier"][0]["reason"], "material change: value");
    let (status, body) = world
        .decide("lars", &lars_first, "approve", json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("round_voided")),
        "{body}"
    );
    let (status, body) = world
        .decide("lena", &lena_first, "approve", json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("round_voided")),
        "a decision on the old version does not carry over"
    );
    assert_eq!(stage(&workflow, 1)["approved_count"], 0);

    // A new body voids it again; the new round needs both again.
    let (_, current) = world
        .admin(Method::GET, &format!("/api/v1/contracts/{contract}"), None)
        .await;
    let (status, _) = world
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/contracts/{contract}"),
            Some(json!({"body": "New terms.", "version": current["version"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        world.workflow(&contract).await["earlier"][0]["reason"],
        "material change: body"
    );
    for name in ["lena", "lars"] {
        let approval = world.pending(&contract, name).await;
        assert_eq!(
            world.decide(name, &approval, "approve", json!({})).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(world.status(&contract).await, "approved");
    assert_eq!(world.events("workflow_run.voided").await.len(), 2);

    // An admin restarts a running round by hand.
    let other = world.contract("olive", "msa", "1").await;
    assert_eq!(world.submit("olive", &other).await.0, StatusCode::OK);
    let (status, started) = world
        .admin(
            Method::POST,
            &format!("/api/v1/contracts/{other}/workflow"),
            Some(json!({"reason": "approvers changed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let workflow = world.workflow(&other).await;
    assert_eq!(workflow["current"]["round"], 2);
    assert_eq!(workflow["earlier"][0]["state"], "cancelled");
    let (status, body) = world
        .admin(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/workflow"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_in_review"))
    );
}

#[tokio::test]
async fn concurrent_approvals_advance_a_stage_exactly_once() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("ann", "member"),
            ("bob", "member"),
            ("cid", "member"),
        ],
        &[("pair", &["ann", "bob"]), ("last", &["cid"])],
    )
    .await;
    world
        .define(json!({"name": "Pair", "trigger_conditions": {"contract_type": "msa"}, "priority": 2, "stages": [
            {"stage_name": "Pair", "sequence": 1, "approvers": ["pair"], "approval_type": "all"},
            {"stage_name": "Last", "sequence": 2, "approvers": ["last"], "approval_type": "all"}]}))
        .await;
    world
        .define(json!({"name": "Either", "trigger_conditions": {"contract_type": "sow"}, "priority": 1, "stages": [
            {"stage_name": "Either", "sequence": 1, "approvers": ["pair"], "approval_type": "any"}]}))
        .await;
    for round in 0..5 {
        let all = world.contract("olive", "msa", &format!("{round}")).await;
        let any = world.contract("olive", "sow", &format!("{round}")).await;
        assert_eq!(world.submit("olive", &all).await.0, StatusCode::OK);
        assert_eq!(world.submit("olive", &any).await.0, StatusCode::OK);
        let (a1, b1, a2, b2) = (
            world.pending(&all, "ann").await,
            world.pending(&all, "bob").await,
            world.pending(&any, "ann").await,
            world.pending(&any, "bob").await,
        );
        let (ra, rb, rc, rd) = tokio::join!(
            world.decide("ann", &a1, "approve", json!({})),
            world.decide("bob", &b1, "approve", json!({})),
            world.decide("ann", &a2, "approve", json!({})),
            world.decide("bob", &b2, "approve", json!({})),
        );
        assert_eq!(
            (ra.0, rb.0),
            (StatusCode::OK, StatusCode::OK),
            "{} {}",
            ra.1,
            rb.1
        );
        let workflow = world.workflow(&all).await;
        assert_eq!(stage(&workflow, 1)["state"], "approved");
        let last = stage(&workflow, 2);
        assert_eq!(last["state"], "active");
        assert_eq!(
            last["approvals"].as_array().unwrap().len(),
            1,
            "the next stage started once"
        );
        // "any": one approval decides; the other finds it already settled.
        let mut outcomes = [rc.0, rd.0];
        outcomes.sort();
        assert_eq!(
            outcomes,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{} {}",
            rc.1,
            rd.1
        );
        assert_eq!(world.status(&any).await, "approved");
    }
    assert_eq!(
        world.events("workflow_stage.completed").await.len(),
        10,
        "each stage once"
    );
    assert_eq!(world.events("workflow_run.approved").await.len(), 5);

    // A decision racing an edit that voids its round: one of them wins, cleanly.
    for round in 0..5 {
        let any = world
            .contract("olive", "sow", &format!("{}", 100 + round))
            .await;
        assert_eq!(world.submit("olive", &any).await.0, StatusCode::OK);
        let ann = world.pending(&any, "ann").await;
        let (_, current) = world
            .admin(Method::GET, &format!("/api/v1/contracts/{any}"), None)
            .await;
        let path = format!("/api/v1/contracts/{any}");
        let (decided, edited) = tokio::join!(
            world.decide("ann", &ann, "approve", json!({})),
            world.as_(
                "olive",
                Method::PATCH,
                &path,
                Some(json!({"value": "999", "version": current["version"]})),
            ),
        );
        assert!(
            !decided.0.is_server_error() && !edited.0.is_server_error(),
            "{} {} / {} {}",
            decided.0,
            decided.1,
            edited.0,
            edited.1
        );
        let workflow = world.workflow(&any).await;
        if decided.0 == StatusCode::OK {
            assert_eq!(world.status(&any).await, "approved");
            assert_eq!(edited.0, StatusCode::CONFLICT, "{}", edited.1);
        } else {
            assert_eq!(decided.1["error"], "round_voided", "{}", decided.1);
            assert_eq!(workflow["current"]["round"], 2);
        }
    }
}

#[tokio::test]
async fn sla_deadlines_remind_breach_and_escalate_over_a_weekend_and_a_holiday() {
    let db = TestDb::migrated().await;
    // Friday 4 December 2026, 15:00 UTC.
    let friday: DateTime<Utc> = "2026-12-04T15:00:00Z".parse().unwrap();
    let clock = ManualClock::starting_at(friday);
    let mut world = World::new(
        &db,
        Some(clock.clone()),
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("finn", "member"),
            ("xena", "member"),
        ],
        &[
            ("legal", &["lena"]),
            ("finance", &["finn"]),
            ("executives", &["xena"]),
        ],
    )
    .await;
    // Monday the 7th is a holiday.
    let (status, body) = world
        .admin(
            Method::PUT,
            "/api/v1/business-calendar",
            Some(
                json!({"timezone": "UTC", "working_days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00", "end": "17:00", "holidays": ["2026-12-07"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    world
        .define(json!({"name": "Timed", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all", "sla_hours": 4,
             "reminder_hours_before": [1], "escalation": {"action": "reassign", "team": "executives"}},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all", "sla_hours": 2,
             "escalation": {"action": "notify", "team": "executives"}}]}))
        .await;
    let contract = world.contract("olive", "msa", "1").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let legal = stage(&world.workflow(&contract).await, 1);
    // Two business hours on Friday, none over the weekend or on Monday's holiday, two
    // on Tuesday: due Tuesday 11:00. The reminder, an hour before: Tuesday 10:00.
    let due: DateTime<Utc> = "2026-12-08T11:00:00Z".parse().unwrap();
    assert_eq!(
        legal["due_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        due
    );
    let stage_id = legal["id"].as_str().unwrap().to_owned();

    // Monday: still nothing (a holiday is not a working day).
    world.advance_to("2026-12-07T16:00:00Z".parse().unwrap());
    world.relogin().await;
    assert!(world.events("approval.reminded").await.is_empty());
    world.advance_to("2026-12-08T10:00:01Z".parse().unwrap());
    world.relogin().await;
    let reminded = world
        .until_event("approval.reminded", &world.pending(&contract, "lena").await)
        .await;
    assert_eq!(reminded["current"]["hours_before"], 1.0);
    assert!(
        world.events("workflow_stage.overdue").await.is_empty(),
        "not due yet"
    );

    // The deadline passes: overdue, events, and the escalation reassigns to the executives.
    world.advance_to(due + Duration::seconds(1));
    world.relogin().await;
    let overdue = world.until_event("workflow_stage.overdue", &stage_id).await;
    assert_eq!(overdue["actor_kind"], "system");
    let escalated = world
        .until_event("workflow_stage.escalated", &stage_id)
        .await;
    assert_eq!(escalated["current"]["action"], "reassign");
    let legal = stage(&world.workflow(&contract).await, 1);
    assert!(legal["overdue"].as_bool().unwrap());
    let lena = legal["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["approver_id"] == world.id("lena").as_str())
        .unwrap()
        .clone();
    assert_eq!(lena["state"], "reassigned");
    assert!(lena["overdue_at"].is_string());
    let (_, overdue_list) = world
        .as_("xena", Method::GET, "/api/v1/approvals?overdue=true", None)
        .await;
    assert_eq!(
        overdue_list["items"].as_array().unwrap().len(),
        1,
        "{overdue_list}"
    );
    let (_, analytics) = world
        .admin(Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(analytics["overdue_now"], 1);
    let xena = world.pending(&contract, "xena").await;
    assert_eq!(
        world.decide("xena", &xena, "approve", json!({})).await.0,
        StatusCode::OK
    );

    // Finance decides in time: its deadline timer later does nothing.
    let finance = stage(&world.workflow(&contract).await, 2);
    let finance_id = finance["id"].as_str().unwrap().to_owned();
    let finance_due: DateTime<Utc> = finance["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        finance_due,
        due + Duration::hours(2) + Duration::seconds(1),
        "two business hours on Tuesday"
    );
    let finn = world.pending(&contract, "finn").await;
    assert_eq!(
        world.decide("finn", &finn, "approve", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(world.status(&contract).await, "approved");
    world.advance_to(finance_due + Duration::minutes(1));
    world.relogin().await;
    // The timer job runs and finishes as a no-op.
    let admin_db = db.client().await;
    for _ in 0..200 {
        let pending: i64 = admin_db
            .query_one("select count(*) from public.jobs where kind = 'workflow.stage_due' and state in ('scheduled', 'available', 'running')", &[])
            .await
            .unwrap()
            .get(0);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let overdue_events = world.events("workflow_stage.overdue").await;
    assert_eq!(overdue_events.len(), 1, "only legal was late");
    assert!(!overdue_events
        .iter()
        .any(|e| e["entity_id"] == finance_id.as_str()));
    let (_, analytics) = world
        .admin(Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(analytics["overdue_now"], 0);
    assert_eq!(
        analytics["within_sla_share"], 0.5,
        "xena decided after the deadline, finn before"
    );
}

#[tokio::test]
async fn a_temporary_role_lapses_by_itself() {
    let db = TestDb::migrated().await;
    let start: DateTime<Utc> = Utc::now();
    let clock = ManualClock::starting_at(start);
    let mut world = World::new(&db, Some(clock.clone()), &[("mia", "member")], &[]).await;
    let (status, _) = world
        .as_(
            "mia",
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "before"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"user_id": world.id("mia"), "role": "owner", "expires_at": start + Duration::hours(1)}),
        json!({"user_id": world.id("mia"), "role": "admin", "expires_at": start - Duration::hours(1)}),
        json!({"user_id": world.id("mia"), "role": "admin", "expires_at": start + Duration::days(400)}),
        json!({"user_id": uuid::Uuid::new_v4(), "role": "admin", "expires_at": start + Duration::hours(1)}),
    ] {
        let (status, body) = world
            .admin(Method::POST, "/api/v1/role-grants", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = world
        .as_("mia", Method::POST, "/api/v1/role-grants", Some(json!({"user_id": world.id("mia"), "role": "admin", "expires_at": start + Duration::hours(1)})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins grant");
    let (status, grant) = world
        .admin(
            Method::POST,
            "/api/v1/role-grants",
            Some(json!({"user_id": world.id("mia"), "role": "admin",
            "expires_at": start + Duration::hours(1), "reason": "covering for the GC"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    let (status, _) = world
        .as_(
            "mia",
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "during"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "the grant applies at once");

    clock.advance(Duration::hours(1) + Duration::seconds(1));
    world.relogin().await;
    let lapsed = world
        .until_event("role_grant.lapsed", grant["id"].as_str().unwrap())
        .await;
    assert_eq!(lapsed["actor_kind"], "system");
    let (status, _) = world
        .as_(
            "mia",
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "after"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "lapsed");
    let (_, grants) = world.admin(Method::GET, "/api/v1/role-grants", None).await;
    assert!(grants["items"][0]["ended_at"].is_string());
    let (status, _) = world
        .admin(
            Method::DELETE,
            &format!("/api/v1/role-grants/{}", grant["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already ended");
}

#[tokio::test]
async fn stage_conditions_skip_stages_a_notify_escalation_leaves_approvers_and_a_short_quorum_is_refused(
) {
    let db = TestDb::migrated().await;
    // Wednesday 2 December 2026, 10:00 UTC and some nanoseconds (as a real clock reads;
    // PostgreSQL keeps microseconds); the default calendar (Monday to Friday, 09:00-17:00
    // UTC).
    let clock = ManualClock::starting_at("2026-12-02T10:00:00.123456789Z".parse().unwrap());
    let mut world = World::new(
        &db,
        Some(clock.clone()),
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("finn", "member"),
            ("xena", "member"),
            ("yuri", "member"),
        ],
        &[
            ("legal", &["lena"]),
            ("finance", &["finn"]),
            ("executives", &["xena", "yuri"]),
        ],
    )
    .await;
    world
        .define(json!({"name": "Conditional", "trigger_conditions": {"contract_type": "msa"}, "priority": 2, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all",
             "condition": {"value__gte": "1000"}},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all", "sla_hours": 2,
             "escalation": {"action": "notify", "team": "executives"}}]}))
        .await;
    world
        .define(json!({"name": "Board", "trigger_conditions": {"contract_type": "sow"}, "priority": 1, "stages": [
            {"stage_name": "Board", "sequence": 1, "approvers": ["executives"], "approval_type": "quorum", "quorum": 3}]}))
        .await;

    let sow = world.contract("olive", "sow", "5").await;
    let (status, body) = world.submit("olive", &sow).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_approvers")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("needs 3"),
        "{body}"
    );

    let small = world.contract("olive", "msa", "10").await;
    assert_eq!(world.submit("olive", &small).await.0, StatusCode::OK);
    let workflow = world.workflow(&small).await;
    assert_eq!(
        stage(&workflow, 1)["state"],
        "skipped",
        "its condition does not hold"
    );
    let finance = stage(&workflow, 2);
    assert_eq!(finance["state"], "active");
    assert_eq!(finance["due_at"], "2026-12-02T12:00:00.123456Z");
    assert_eq!(world.events("workflow_stage.skipped").await.len(), 1);

    world.advance_to("2026-12-02T12:00:00.200Z".parse().unwrap());
    world.relogin().await;
    let stage_id = finance["id"].as_str().unwrap();
    let escalated = world
        .until_event("workflow_stage.escalated", stage_id)
        .await;
    assert_eq!(escalated["current"]["action"], "notify");
    assert_eq!(escalated["current"]["team"], "executives");
    assert_eq!(escalated["current"]["reassigned_to"], json!([]));
    let (_, overdue) = world
        .as_("finn", Method::GET, "/api/v1/approvals?overdue=true", None)
        .await;
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "notify leaves the approval with finn: {overdue}"
    );
    assert!(items[0]["overdue"].as_bool().unwrap());
    let (_, theirs) = world
        .as_("xena", Method::GET, "/api/v1/approvals", None)
        .await;
    assert!(
        theirs["items"].as_array().unwrap().is_empty(),
        "nothing reassigned"
    );
    let finn = world.pending(&small, "finn").await;
    assert_eq!(
        world.decide("finn", &finn, "approve", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(world.status(&small).await, "approved");
}

/// The caller's notifications once the notifier has caught up with `expected` of them.
async fn inbox(world: &World, name: &str, expected: usize) -> Vec<Value> {
    for _ in 0..200 {
        let (status, page) = world
            .as_(name, Method::GET, "/api/v1/notifications?limit=200", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= expected {
            return items;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("{name} never got {expected} notifications");
}

fn types(items: &[Value]) -> Vec<&str> {
    let mut kinds: Vec<&str> = items.iter().map(|n| n["type"].as_str().unwrap()).collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn notifications_follow_the_workflow_and_never_tell_the_actor() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("finn", "member")],
        &[("legal", &["lena"]), ("finance", &["finn"])],
    )
    .await;
    world
        .define(json!({"name": "Two step", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all"}]}))
        .await;
    let contract = world.contract("olive", "msa", "10").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let lena_inbox = inbox(&world, "lena", 1).await;
    assert_eq!(types(&lena_inbox), ["approval_requested"]);
    assert_eq!(
        lena_inbox[0]["link"],
        format!("/api/v1/contracts/{contract}/workflow")
    );

    let lena = world.pending(&contract, "lena").await;
    assert_eq!(
        world.decide("lena", &lena, "approve", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        types(&inbox(&world, "finn", 1).await),
        ["approval_requested"]
    );
    assert_eq!(
        types(&inbox(&world, "olive", 1).await),
        ["approval_approved"]
    );

    // The owner edits a tag: the pending approver hears of it, the owner does not.
    let (_, current) = world
        .admin(Method::GET, &format!("/api/v1/contracts/{contract}"), None)
        .await;
    let (status, _) = world
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/contracts/{contract}"),
            Some(json!({"tags": ["q4"], "version": current["version"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        types(&inbox(&world, "finn", 2).await),
        ["approval_requested", "contract_updated"]
    );

    let finn = world.pending(&contract, "finn").await;
    assert_eq!(
        world.decide("finn", &finn, "approve", json!({})).await.0,
        StatusCode::OK
    );
    let olive = inbox(&world, "olive", 3).await;
    assert_eq!(
        types(&olive),
        [
            "approval_approved",
            "approval_approved",
            "workflow_completed"
        ]
    );
    // Nobody was told about what they did themselves.
    assert_eq!(inbox(&world, "lena", 1).await.len(), 1);
    assert_eq!(inbox(&world, "finn", 2).await.len(), 2);

    // Counts, one read, then all read up to the newest seen: a newer one stays unread.
    let (_, counts) = world
        .as_("olive", Method::GET, "/api/v1/notifications/counts", None)
        .await;
    assert_eq!(
        (counts["unread"].as_i64(), counts["unseen"].as_i64()),
        (Some(3), Some(3))
    );
    let newest = olive[0]["id"].as_i64().unwrap();
    let oldest = olive[2]["id"].as_i64().unwrap();
    let (status, read) = world
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/notifications/{oldest}/read"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read["read_at"].is_string() && read["seen_at"].is_string());
    let (status, _) = world
        .as_(
            "lena",
            Method::POST,
            &format!("/api/v1/notifications/{oldest}/read"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's notification");
    let (status, comment) = world
        .as_(
            "lena",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/comments"),
            Some(json!({"body": "@olive@example.com signed off"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let (status, marked) = world
        .as_(
            "olive",
            Method::POST,
            "/api/v1/notifications/all/read",
            Some(json!({"up_to_id": newest})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked["changed"], 2);
    let olive = inbox(&world, "olive", 4).await;
    assert_eq!(olive[0]["type"], "mentioned");
    assert!(
        olive[0]["read_at"].is_null(),
        "newer than up_to_id: still unread"
    );
    let (_, unread) = world
        .as_(
            "olive",
            Method::GET,
            "/api/v1/notifications?unread=true",
            None,
        )
        .await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 1);
    let (status, _) = world
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/notifications/{newest}/archive"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, archived) = world
        .as_(
            "olive",
            Method::GET,
            "/api/v1/notifications?archived=true",
            None,
        )
        .await;
    assert_eq!(archived["items"][0]["id"], newest);
    for bad in [
        "/api/v1/notifications/1/explode",
        "/api/v1/notifications/all/explode",
    ] {
        let (status, _) = world
            .as_("olive", Method::POST, bad, Some(json!({"up_to_id": 1})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }

    // However often the notifier runs for an event, it tells each recipient once.
    let tenant_db = crate::app::acme_db(&db);
    let completed = world.events("workflow_run.approved").await;
    let event_id = completed[0]["id"].as_i64().unwrap();
    let tx = tenant_db.begin().await.unwrap();
    assert!(
        pactum::notifications::notifier::from_event(&tx, event_id, None)
            .await
            .unwrap()
            .is_empty(),
        "a second run makes (and publishes) nothing"
    );
    tx.commit().await.unwrap();
    let (_, archived) = world
        .as_(
            "olive",
            Method::GET,
            "/api/v1/notifications?archived=true",
            None,
        )
        .await;
    assert_eq!(
        inbox(&world, "olive", 3).await.len() + archived["items"].as_array().unwrap().len(),
        4
    );
}
