//! Tasks that repeat, through the server and a manual clock: marked done, a repeating
//! task makes its next occurrence once, due at the series' next step in the tenant's
//! time zone (across a change of daylight saving time), reminded as long before, for
//! the same assignee; one done late skips what it missed; the series ends at its
//! `until` or when its rule is cleared; a rule that is not one is a 400 writing nothing.

use super::*;

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn task(org: &Org, task: &str) -> Value {
    let (status, found) = org
        .as_("vera", Method::GET, &format!("/api/v1/tasks/{task}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
}

async fn mark_done(org: &Org, task: &str) -> Value {
    let (status, done) = org
        .as_(
            "mark",
            Method::PATCH,
            &format!("/api/v1/tasks/{task}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "done");
    done
}

#[tokio::test]
async fn a_repeating_task_done_makes_its_next_once_at_the_series_next_step() {
    let mut org = org(
        at("2027-03-15T08:00:00Z"),
        1,
        &[],
        &[("olive", "member"), ("mark", "member"), ("vera", "viewer")],
    )
    .await;
    put_ok(
        &org,
        "/api/v1/notification-preferences/defaults",
        json!({"time_zone": "Europe/Paris"}),
    )
    .await;
    let lead = created(&org, "olive", "/api/v1/leads", json!({"name": "Ada"})).await;
    let mark = org.people["mark"].0.clone();
    let base = json!({"target_kind": "lead", "target_id": id(&lead), "title": "Weekly call",
                      "assignee_id": mark, "due_at": "2027-03-22T08:00:00Z"});
    let with = |changes: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(changes.as_object().unwrap().clone());
        body
    };

    // A rule that is not one, or one without a due date to count from: refused.
    let mut undated = with(json!({"repeat": {"every": 1, "unit": "week"}}));
    undated.as_object_mut().unwrap().remove("due_at");
    for bad in [
        undated,
        with(json!({"repeat": {"every": 0, "unit": "week"}})),
        with(json!({"repeat": {"every": 1001, "unit": "day"}})),
        with(json!({"repeat": {"every": 1, "unit": "fortnight"}})),
        with(json!({"repeat": {"every": 1, "unit": "week", "until": "2027-03-21T00:00:00Z"}})),
        with(json!({"repeat": {"every": 1, "unit": "week", "count": 3}})),
        with(json!({"repeat": {"every": 1, "unit": "week", "until": "+262142-01-01T00:00:00Z"}})),
        with(json!({"repeat": "weekly"})),
    ] {
        let (status, answer) = org
            .as_("olive", Method::POST, "/api/v1/tasks", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    assert_eq!(count(&org, "select count(*) from t_acme.tasks").await, 0);

    // Every week at 09:00 in Paris until 6 April, reminded half an hour before.
    let first = created(
        &org,
        "olive",
        "/api/v1/tasks",
        with(json!({"remind_at": "2027-03-22T07:30:00Z",
                    "repeat": {"every": 1, "unit": "week", "until": "2027-04-06T00:00:00Z"}})),
    )
    .await;
    assert_eq!(
        first["repeat"],
        json!({"every": 1, "unit": "week", "until": "2027-04-06T00:00:00Z"})
    );
    assert!(first["next_task_id"].is_null());

    // Done on time: the next is due a week later at 09:00 in Paris, which summer time
    // (from 28 March) makes 07:00 UTC, and reminded half an hour before.
    org.advance_to(at("2027-03-22T08:10:00Z"));
    org.relogin().await;
    let done = mark_done(&org, &id(&first)).await;
    let second_id = done["next_task_id"].as_str().unwrap().to_owned();
    let second = task(&org, &second_id).await;
    assert_eq!(second["due_at"], "2027-03-29T07:00:00Z", "{second}");
    assert_eq!(second["remind_at"], "2027-03-29T06:30:00Z");
    assert_eq!(second["status"], "open");
    assert_eq!(second["assignee_id"], mark.as_str());
    assert_eq!(second["created_by"], first["created_by"]);
    assert_eq!(second["title"], "Weekly call");
    assert_eq!(second["repeat"], first["repeat"]);
    assert_eq!(
        timers(&org, "tasks.timer", &format!("task:{second_id}:%")).await,
        [
            (format!("task:{second_id}:due"), at("2027-03-29T07:00:00Z")),
            (
                format!("task:{second_id}:remind"),
                at("2027-03-29T06:30:00Z")
            ),
        ]
    );

    // Opened and done again, it makes no second occurrence.
    let (status, reopened) = org
        .as_(
            "mark",
            Method::PATCH,
            &format!("/api/v1/tasks/{}", id(&first)),
            Some(json!({"status": "open"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    let again = mark_done(&org, &id(&first)).await;
    assert_eq!(again["next_task_id"], second_id.as_str());
    assert_eq!(count(&org, "select count(*) from t_acme.tasks").await, 2);

    // Done late, on 1 April: the next is the step after now, 5 April, not the missed
    // one; and the step after that is past `until`, so the series ends there.
    org.advance_to(at("2027-04-01T10:00:00Z"));
    org.relogin().await;
    let third_id = mark_done(&org, &second_id).await["next_task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        task(&org, &third_id).await["due_at"],
        "2027-04-05T07:00:00Z"
    );
    org.advance_to(at("2027-04-05T07:30:00Z"));
    org.relogin().await;
    let last = mark_done(&org, &third_id).await;
    assert!(last["next_task_id"].is_null(), "{last}");
    assert_eq!(count(&org, "select count(*) from t_acme.tasks").await, 3);
    // An occurrence deleted is no longer named by the one that made it.
    let (status, _) = org
        .as_(
            "olive",
            Method::DELETE,
            &format!("/api/v1/tasks/{third_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(task(&org, &second_id).await["next_task_id"].is_null());

    // A rule cleared stops the series at that task.
    let daily = created(
        &org,
        "olive",
        "/api/v1/tasks",
        with(json!({"due_at": "2027-04-06T08:00:00Z", "repeat": {"every": 1, "unit": "day"}})),
    )
    .await;
    let (status, cleared) = org
        .as_(
            "mark",
            Method::PATCH,
            &format!("/api/v1/tasks/{}", id(&daily)),
            Some(json!({"repeat": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert!(cleared["repeat"].is_null());
    assert!(mark_done(&org, &id(&daily)).await["next_task_id"].is_null());
    // A due date cleared from a repeating task is refused: the rule needs one.
    let weekly = created(
        &org,
        "olive",
        "/api/v1/tasks",
        with(json!({"repeat": {"every": 2, "unit": "week"}})),
    )
    .await;
    let (status, answer) = org
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/tasks/{}", id(&weekly)),
            Some(json!({"due_at": null})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "invalid_repeat");
    assert_eq!(
        task(&org, &id(&weekly)).await["due_at"],
        "2027-03-22T08:00:00Z"
    );
}
