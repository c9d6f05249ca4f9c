//! Approval workflows through the real server: the seed's definition end to end, rules
//! and their refusals, priorities and ties, all / any / quorum, delegation and
//! out-of-office, self-approval, voiding on a material edit, SLA timers over a weekend
//! and a holiday (a manual clock; nothing sleeps for an SLA), concurrent decisions,
//! temporary role grants and role enforcement.
//!
//! One module per part of `src/workflows/`: rounds from submission to settlement
//! (`rounds`: the engine), definitions and their rules (`rules`), decisions by people
//! (`decisions`: quorum, delegation, out-of-office, deactivation, temporary roles), the
//! SLA (`sla`) and the notifications a workflow makes (`notifications`). Here: the
//! world they share, a tenant with its approvers, teams and calendar.

mod decisions;
mod notifications;
mod rounds;
mod rules;
mod sla;

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

    /// `name` edits `contract` with `change`, at its current version.
    async fn edit(&self, name: &str, contract: &str, change: Value) -> (StatusCode, Value) {
        let path = format!("/api/v1/contracts/{contract}");
        let (_, current) = self.admin(Method::GET, &path, None).await;
        let mut body = change;
        body["version"] = current["version"].clone();
        self.as_(name, Method::PATCH, &path, Some(body)).await
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

    /// The events of `pattern` once at least `count` have settled (see
    /// `TestApp::settled_events`: another test's long transaction can hold them back).
    async fn events_at_least(&self, pattern: &str, count: usize) -> Vec<Value> {
        let path = format!("/api/v1/events?type={pattern}&limit=200");
        let body = self
            .app
            .settled_events(HOST, &self.admin, &path, count)
            .await;
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
