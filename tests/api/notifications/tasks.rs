//! Tasks and the activity log on CRM records, through the server and a manual clock:
//! tasks assigned, reminded and found overdue by their timers (whose times follow every
//! change), worked only by their creator, assignee or a manager; calls and meetings
//! logged; one timeline per account; a deleted record takes its tasks and activities
//! with it; bad input is a 400 and writes nothing.

use super::*;

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tasks_are_assigned_reminded_and_overdue_on_their_timers_and_follow_every_change() {
    let start = at("2026-12-01T08:00:00Z");
    let mut org = org(
        start,
        1,
        &[],
        &[("olive", "member"), ("mark", "member"), ("vera", "viewer")],
    )
    .await;
    let lead = created(
        &org,
        "olive",
        "/api/v1/leads",
        json!({"name": "Ada", "company": "Initech"}),
    )
    .await;
    let mark = org.people["mark"].0.clone();
    let task = created(
        &org,
        "olive",
        "/api/v1/tasks",
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "Call Ada back",
               "assignee_id": mark, "priority": "high",
               "remind_at": "2026-12-01T09:30:00Z", "due_at": "2026-12-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(task["status"], "open");
    assert_eq!(task["assignee_id"], mark.as_str());
    let task_id = id(&task);
    // Mark is told at once; the timers wait for their times.
    let inbox = org.inbox("mark", 1).await;
    assert_eq!(inbox[0]["type"], "task_assigned", "{inbox:?}");
    assert!(inbox[0]["title"]
        .as_str()
        .unwrap()
        .contains("Call Ada back"));
    assert_eq!(
        timers(&org, "tasks.timer", &format!("task:{task_id}:%")).await,
        [
            (format!("task:{task_id}:due"), at("2026-12-01T10:00:00Z")),
            (format!("task:{task_id}:remind"), at("2026-12-01T09:30:00Z")),
        ]
    );

    // Lists: Mark's active tasks, the lead's tasks, the overdue.
    let (_, mine) = org
        .as_(
            "mark",
            Method::GET,
            "/api/v1/tasks?assignee=me&status=active",
            None,
        )
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    let (_, on_lead) = org
        .as_(
            "vera",
            Method::GET,
            &format!("/api/v1/tasks?target_kind=lead&target_id={}", id(&lead)),
            None,
        )
        .await;
    assert_eq!(on_lead["items"][0]["id"], task_id.as_str());
    let (_, olive_own) = org
        .as_("olive", Method::GET, "/api/v1/tasks?assignee=me", None)
        .await;
    assert!(olive_own["items"].as_array().unwrap().is_empty());

    // The reminder, then the overdue notice, each when the clock passes its time.
    org.advance_to(at("2026-12-01T09:30:01Z"));
    org.relogin().await;
    let inbox = org.inbox("mark", 2).await;
    assert_eq!(inbox[0]["type"], "task_reminder", "{inbox:?}");
    org.advance_to(at("2026-12-01T10:00:01Z"));
    org.relogin().await;
    let inbox = org.inbox("mark", 3).await;
    assert_eq!(inbox[0]["type"], "task_overdue", "{inbox:?}");
    assert_eq!(
        inbox[0]["link"]
            .as_str()
            .map(|l| l.ends_with(&format!("/api/v1/tasks/{task_id}"))),
        Some(true),
        "{inbox:?}"
    );
    let (_, overdue) = org
        .as_(
            "mark",
            Method::GET,
            "/api/v1/tasks?status=active&due_before=2026-12-01T10:00:01Z",
            None,
        )
        .await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1, "{overdue}");

    // Who may work it: not a member who neither made nor holds it, not a viewer.
    let path = format!("/api/v1/tasks/{task_id}");
    org.advance_to(at("2026-12-01T11:00:00Z"));
    org.relogin().await;
    let (status, _) = org
        .as_(
            "vera",
            Method::PATCH,
            &path,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = created(
        &org,
        "mark",
        "/api/v1/tasks",
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "Mine"}),
    )
    .await;
    let (status, _) = org
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/tasks/{}", id(&other)),
            Some(json!({"title": "Taken"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A new due time schedules a new timer; done cancels it and stamps the completion.
    let (status, moved) = org
        .as_(
            "mark",
            Method::PATCH,
            &path,
            Some(json!({"due_at": "2026-12-03T10:00:00Z", "remind_at": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        timers(&org, "tasks.timer", &format!("task:{task_id}:%")).await,
        [(format!("task:{task_id}:due"), at("2026-12-03T10:00:00Z"))]
    );
    let (_, done) = org
        .as_(
            "mark",
            Method::PATCH,
            &path,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["completed_at"], "2026-12-01T11:00:00Z");
    assert!(timers(&org, "tasks.timer", &format!("task:{task_id}:%"))
        .await
        .is_empty());

    // Bad input: a 400 that writes nothing.
    let before = count(&org, "select count(*) from t_acme.tasks").await;
    for body in [
        json!({"target_kind": "planet", "target_id": id(&lead), "title": "x"}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": ""}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "x".repeat(301)}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "x", "priority": "asap"}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "x", "due_at": "2026-12-01T10:00:00Z", "remind_at": "2026-12-02T10:00:00Z"}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "x", "due_at": "+262142-01-01T00:00:00Z"}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "x", "assignee_id": uuid::Uuid::new_v4()}),
        json!({"target_kind": "lead", "target_id": id(&lead), "title": "x", "colour": "red"}),
    ] {
        let (status, answer) = org
            .as_("olive", Method::POST, "/api/v1/tasks", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    let (status, answer) = org
        .as_(
            "olive",
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"target_kind": "lead", "target_id": uuid::Uuid::new_v4(), "title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, _) = org
        .as_(
            "vera",
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"target_kind": "lead", "target_id": id(&lead), "title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(&org, "select count(*) from t_acme.tasks").await,
        before
    );

    // Deleting the lead takes its tasks and their timers with it.
    let (status, _) = org
        .as_(
            "olive",
            Method::DELETE,
            &format!("/api/v1/leads/{}", id(&lead)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(count(&org, "select count(*) from t_acme.tasks").await, 0);
    let (status, _) = org.as_("mark", Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn activities_are_logged_on_records_and_every_account_has_one_timeline() {
    let org = org(
        at("2026-12-01T08:00:00Z"),
        1,
        &[],
        &[("olive", "member"), ("mark", "member"), ("vera", "viewer")],
    )
    .await;
    let account = created(
        &org,
        "olive",
        "/api/v1/counterparties",
        json!({"name": "Initech"}),
    )
    .await;
    let account_id = id(&account);
    let contact = created(
        &org,
        "olive",
        "/api/v1/contacts",
        json!({"name": "Bill", "emails": ["bill@initech.example"], "account_ids": [account_id]}),
    )
    .await;
    let deal = created(
        &org,
        "olive",
        "/api/v1/opportunities",
        json!({"name": "Initech renewal", "account_id": account_id, "amount": "1000", "currency": "EUR"}),
    )
    .await;
    let call = created(
        &org,
        "olive",
        "/api/v1/activities",
        json!({"target_kind": "opportunity", "target_id": id(&deal), "kind": "call",
               "subject": "Pricing call", "duration_minutes": 30, "contact_ids": [id(&contact)],
               "occurred_at": "2026-11-30T15:00:00Z"}),
    )
    .await;
    assert_eq!(call["contact_ids"][0], id(&contact).as_str());
    created(
        &org,
        "mark",
        "/api/v1/activities",
        json!({"target_kind": "contact", "target_id": id(&contact), "kind": "email", "subject": "Sent the quote"}),
    )
    .await;
    let (_, logged) = org
        .as_(
            "vera",
            Method::GET,
            &format!(
                "/api/v1/activities?target_kind=opportunity&target_id={}",
                id(&deal)
            ),
            None,
        )
        .await;
    assert_eq!(logged["items"].as_array().unwrap().len(), 1, "{logged}");
    assert_eq!(logged["items"][0]["subject"], "Pricing call");

    // Bad input and unknown contacts: a 400, nothing written.
    let before = count(&org, "select count(*) from t_acme.activities").await;
    for body in [
        json!({"target_kind": "opportunity", "target_id": id(&deal), "kind": "sms", "subject": "x"}),
        json!({"target_kind": "opportunity", "target_id": id(&deal), "kind": "call", "subject": "x", "duration_minutes": 20000}),
        json!({"target_kind": "opportunity", "target_id": id(&deal), "kind": "call", "subject": "x", "contact_ids": [uuid::Uuid::new_v4()]}),
        json!({"target_kind": "opportunity", "kind": "call", "subject": "x"}),
    ] {
        let (status, answer) = org
            .as_(
                "olive",
                Method::POST,
                "/api/v1/activities",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    assert_eq!(
        count(&org, "select count(*) from t_acme.activities").await,
        before
    );
    // Only its author (or a manager) deletes an entry.
    let (status, _) = org
        .as_(
            "mark",
            Method::DELETE,
            &format!("/api/v1/activities/{}", id(&call)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A task and a comment on the deal; the timeline gathers everything.
    created(
        &org,
        "olive",
        "/api/v1/tasks",
        json!({"target_kind": "opportunity", "target_id": id(&deal), "title": "Send the contract"}),
    )
    .await;
    created(
        &org,
        "mark",
        &format!("/api/v1/opportunities/{}/comments", id(&deal)),
        json!({"body": "Looks good"}),
    )
    .await;
    // Another account's events stay on its own timeline.
    let other = created(
        &org,
        "olive",
        "/api/v1/counterparties",
        json!({"name": "Globex"}),
    )
    .await;
    let path = format!("/api/v1/counterparties/{account_id}/timeline");
    let (status, timeline) = org.as_("vera", Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let types: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "comment.created",
            "task.created",
            "activity.created",
            "activity.created",
            "opportunity.created",
            "contact.created",
            "counterparty.created",
        ],
        "{timeline:#}"
    );
    assert!(timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["entity_id"] != other["id"]));
    assert_eq!(timeline["items"][1]["summary"], "Send the contract");
    // Paged, newest first, without repeats.
    let (_, first) = org
        .as_("vera", Method::GET, &format!("{path}?limit=4"), None)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = org
        .as_(
            "vera",
            Method::GET,
            &format!("{path}?limit=4&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        first["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(),
        7
    );
    assert!(rest["next_cursor"].is_null());
    // An update names its fields, not their values.
    let (status, _) = org
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/opportunities/{}", id(&deal)),
            Some(json!({"next_step": "Legal review"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, timeline) = org.as_("vera", Method::GET, &path, None).await;
    assert_eq!(timeline["items"][0]["type"], "opportunity.updated");
    assert!(timeline["items"][0]["changed_fields"]
        .as_array()
        .unwrap()
        .contains(&json!("next_step")));
    let (status, _) = org
        .as_(
            "vera",
            Method::GET,
            &format!("/api/v1/counterparties/{}/timeline", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
