//! Trigger rules evaluated by a real PostgreSQL against real contract rows: the SQL the
//! compiler writes is valid, and means what the rule says.

use pactum::workflows::rules::{compile, Param};
use serde_json::{json, Value};

use crate::app::{tenant_with_admin, PASSWORD};
use crate::support::TestDb;

async fn matching(client: &tokio_postgres::Client, rule: Value) -> Vec<String> {
    let compiled = compile(&rule, 1).unwrap_or_else(|e| panic!("{rule}: {e}"));
    let params: Vec<_> = compiled.params.iter().map(Param::as_sql).collect();
    let sql = format!(
        "select c.title from t_acme.contracts c where {} order by c.title",
        compiled.sql
    );
    client
        .query(&sql, &params)
        .await
        .unwrap_or_else(|e| panic!("{rule}: {sql}: {e}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn compiled_rules_select_the_contracts_they_describe() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let client = db.client().await;
    client
        .batch_execute(
            "insert into t_acme.contracts (title, contract_type, value, currency, owner_id, \
                 start_date, end_date, auto_renew, tags, metadata) \
             select v.title, v.type, v.value, v.currency, u.id, v.start_date, v.end_date, \
                 v.auto_renew, v.tags, v.metadata \
             from t_acme.users u, (values \
                 ('Big MSA', 'msa', 750000.00, 'EUR', date '2026-01-01', date '2028-12-31', true, \
                  array['strategic'], '{\"region\": \"emea\"}'::jsonb), \
                 ('Small SOW', 'sow', 12000.50, 'USD', date '2026-06-01', null::date, false, \
                  array[]::text[], '{}'::jsonb), \
                 ('Huge NDA', 'nda', 900000, 'EUR', null, null, false, \
                  array['renewal', 'q1'], '{\"region\": \"apac\"}'::jsonb), \
                 ('100% off_deal', 'other', null, null, null, null, false, \
                  array[]::text[], '{}'::jsonb)) \
               as v(title, type, value, currency, start_date, end_date, auto_renew, tags, metadata)",
        )
        .await
        .unwrap();

    for (rule, expected) in [
        (
            json!({"value__gte": "500000", "contract_type__in": ["msa", "sow"]}),
            vec!["Big MSA"],
        ),
        (
            json!({"value__range": ["10000", "800000"]}),
            vec!["Big MSA", "Small SOW"],
        ),
        (json!({"value__lt": 20000}), vec!["Small SOW"]),
        (json!({"value__isnull": true}), vec!["100% off_deal"]),
        (
            json!({"currency": "EUR", "not": {"type": "nda"}}),
            vec!["Big MSA"],
        ),
        (
            json!({"any": [{"tags__contains": "strategic"}, {"metadata__region": "apac"}]}),
            vec!["Big MSA", "Huge NDA"],
        ),
        (json!({"tags__in": ["q1", "q2"]}), vec!["Huge NDA"]),
        (
            json!({"tags__isnull": true}),
            vec!["100% off_deal", "Small SOW"],
        ),
        (json!({"end_date__isnull": false}), vec!["Big MSA"]),
        (json!({"start_date__gte": "2026-03-01"}), vec!["Small SOW"]),
        (json!({"auto_renewal": true}), vec!["Big MSA"]),
        (json!({"title__icontains": "msa"}), vec!["Big MSA"]),
        (json!({"title__contains": "msa"}), Vec::<&str>::new()),
        // Wildcards in the value are literal: only the title with "0% o" in it.
        (json!({"title__contains": "0% o"}), vec!["100% off_deal"]),
        (json!({"title__contains": "_"}), vec!["100% off_deal"]),
        (
            json!({"metadata__region__in": ["emea", "apac"]}),
            vec!["Big MSA", "Huge NDA"],
        ),
        // A missing metadata key is null: `not` of a null comparison still holds.
        (
            json!({"not": {"metadata__region": "emea"}}),
            vec!["100% off_deal", "Huge NDA", "Small SOW"],
        ),
        (
            json!({"status": "draft", "all": [{"value__gt": "1"}, {"value__lt": "800000"}]}),
            vec!["Big MSA", "Small SOW"],
        ),
        (
            json!({}),
            vec!["100% off_deal", "Big MSA", "Huge NDA", "Small SOW"],
        ),
    ] {
        assert_eq!(matching(&client, rule.clone()).await, expected, "{rule}");
    }
}

#[tokio::test]
async fn the_business_calendar_is_read_by_all_and_set_by_admins_with_checked_input() {
    use reqwest::{Method, StatusCode};
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = crate::app::spawn_app(&db, &[]).await;
    let host = "acme.localhost";
    let admin = app.access_token(host, "admin@example.com", PASSWORD).await;
    let (status, _) = {
        let r = app
            .call(
                Method::POST,
                host,
                "/api/v1/users",
                &admin,
                Some(json!({"email": "m@example.com", "display_name": "M", "role": "manager", "password": PASSWORD})),
            )
            .await;
        (r.status(), ())
    };
    assert_eq!(status, StatusCode::CREATED);
    let manager = app.access_token(host, "m@example.com", PASSWORD).await;
    let call = |token: String, method: Method, body: Option<Value>| {
        let app = &app;
        async move {
            let r = app
                .call(method, host, "/api/v1/business-calendar", &token, body)
                .await;
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let (status, default) = call(manager.clone(), Method::GET, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(default["configured"], false);
    assert_eq!(default["timezone"], "UTC");
    assert_eq!(
        default["working_days"],
        json!(["mon", "tue", "wed", "thu", "fri"])
    );

    let paris = json!({"timezone": "Europe/Paris", "working_days": ["fri", "mon", "tue", "wed", "thu"],
        "start": "08:30", "end": "18:00", "holidays": ["2026-12-25", "2026-12-24", "2026-12-25"]});
    let (status, _) = call(manager.clone(), Method::PUT, Some(paris.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, set) = call(admin.clone(), Method::PUT, Some(paris)).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["configured"], true);
    assert_eq!(
        set["working_days"],
        json!(["mon", "tue", "wed", "thu", "fri"]),
        "in week order"
    );
    assert_eq!(
        set["holidays"],
        json!(["2026-12-24", "2026-12-25"]),
        "sorted, once each"
    );

    for bad in [
        json!({"timezone": "Mars/Olympus", "working_days": ["mon"], "start": "09:00", "end": "17:00", "holidays": []}),
        json!({"timezone": "UTC", "working_days": [], "start": "09:00", "end": "17:00", "holidays": []}),
        json!({"timezone": "UTC", "working_days": ["mon"], "start": "17:00", "end": "09:00", "holidays": []}),
        json!({"timezone": "UTC", "working_days": ["mon"], "start": "09:00", "end": "17:00", "holidays": ["someday"]}),
        json!({"timezone": "UTC", "working_days": ["mon"], "start": "09:00", "end": "17:00"}),
        json!({"timezone": "UTC", "working_days": ["mon"], "start": "09:00", "end": "17:00", "holidays": [], "extra": 1}),
    ] {
        let (status, error) = call(admin.clone(), Method::PUT, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
        assert!(error["error"].is_string());
    }
    let (_, kept) = call(admin.clone(), Method::GET, None).await;
    assert_eq!(
        kept["timezone"], "Europe/Paris",
        "refused input changed nothing"
    );

    // What SLA code will use: the stored calendar, as a business-time calculator.
    let tenant_db = crate::app::acme_db(&db).await;
    let tx = tenant_db.begin().await.unwrap();
    let calendar = pactum::sla::calendar::load(&tx).await.unwrap();
    tx.rollback().await.unwrap();
    // Wednesday 23 December 2026, 17:00 in Paris (16:00 UTC) + 3 business hours: one
    // hour that day, then the 24th and 25th are holidays, then Saturday and Sunday:
    // Monday 28th, 10:30 in Paris (09:30 UTC).
    let from: chrono::DateTime<chrono::Utc> = "2026-12-23T16:00:00Z".parse().unwrap();
    assert_eq!(
        calendar.add(from, chrono::Duration::hours(3)).unwrap(),
        "2026-12-28T09:30:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );

    let events = app
        .settled_events(host, &admin, "/api/v1/events?type=business_calendar.*", 1)
        .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    assert_eq!(events["items"][0]["current"]["timezone"], "Europe/Paris");
}

/// A definition copied into another tenant keeps its id and version (a schema restored
/// under another name, a tenant cloned for staging); each tenant's edits then reach
/// the same version with different rules. The process's compiled rules are the
/// asking tenant's own: each tenant's contracts match by what its own definition says.
#[tokio::test]
async fn a_definition_copied_into_another_tenant_matches_by_each_tenants_own_rule() {
    use reqwest::{Method, StatusCode};
    let db = TestDb::migrated().await;
    let app = crate::app::spawn_app(&db, &[]).await;
    let mut admins = Vec::new();
    for slug in ["acme", "globex"] {
        tenant_with_admin(&db, slug, PASSWORD).await;
        let host = format!("{slug}.localhost");
        let admin = app.access_token(&host, "admin@example.com", PASSWORD).await;
        let approver = json!({"email": "approver@example.com", "display_name": "Approver",
                              "role": "member", "password": PASSWORD});
        let made = app
            .call(Method::POST, &host, "/api/v1/users", &admin, Some(approver))
            .await;
        assert_eq!(made.status(), StatusCode::CREATED);
        admins.push((host, admin));
    }
    let rule = |contract_type: &str| {
        json!({"name": "Review", "trigger_conditions": {"contract_type": contract_type},
               "priority": 1, "stages": [{"stage_name": "Review", "sequence": 1,
               "approvers": ["approver@example.com"], "approval_type": "all"}]})
    };
    let (acme, globex) = (&admins[0], &admins[1]);
    let made = app
        .call(
            Method::POST,
            &acme.0,
            "/api/v1/workflows",
            &acme.1,
            Some(rule("nda")),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let definition: Value = made.json().await.unwrap();
    db.client()
        .await
        .batch_execute(
            "insert into t_globex.workflow_definitions select * from t_acme.workflow_definitions",
        )
        .await
        .unwrap();
    // Version 2 in each: acme's for statements of work, globex's for MSAs.
    let path = format!("/api/v1/workflows/{}", definition["id"].as_str().unwrap());
    for ((host, admin), contract_type) in [(globex, "msa"), (acme, "sow")] {
        let saved = app
            .call(Method::PUT, host, &path, admin, Some(rule(contract_type)))
            .await;
        assert_eq!(saved.status(), StatusCode::OK, "{host}");
        let saved: Value = saved.json().await.unwrap();
        assert_eq!(saved["version"], 2, "{host}: {saved}");
    }
    // Each tenant submits a contract its own version 2 matches, globex first.
    for ((host, admin), contract_type) in [(globex, "msa"), (acme, "sow")] {
        let contract = app
            .call(
                Method::POST,
                host,
                "/api/v1/contracts",
                admin,
                Some(json!({
                "title": "Order", "contract_type": contract_type, "body": "Terms."})),
            )
            .await;
        let contract: Value = contract.json().await.unwrap();
        let contract = format!("/api/v1/contracts/{}", contract["id"].as_str().unwrap());
        let moved = app
            .call(
                Method::POST,
                host,
                &format!("{contract}/transition"),
                admin,
                Some(json!({"to": "in_review"})),
            )
            .await;
        assert_eq!(moved.status(), StatusCode::OK, "{host}");
        let workflow: Value = app
            .call(
                Method::GET,
                host,
                &format!("{contract}/workflow"),
                admin,
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (
                &workflow["current"]["definition_name"],
                &workflow["current"]["definition_version"]
            ),
            (&json!("Review"), &json!(2)),
            "{host}: a {contract_type} matches the tenant's own version 2: {workflow}"
        );
    }
}
