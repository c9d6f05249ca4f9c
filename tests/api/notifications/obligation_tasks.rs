//! Obligations with a date become tasks with reminders, through the server and a
//! manual clock: made from the contract's text by a job, assigned to its owner, moved
//! and superseded with the text, reminded at 09:00 to whoever holds them, closed by
//! their assignee and by no one else; bad input is a 400 and changes nothing. A
//! recurring obligation is a series of tasks up to the end date, or a year ahead and
//! moving on as the days pass.

use super::*;

const BODY: &str = "1. Delivery. The Supplier shall deliver the migration plan by March 1, 2027.\n\
    2. Fees. Customer shall pay the set-up fee within 30 days of the Effective Date.\n\
    3. Invoices. Customer shall pay each invoice within 30 days of receipt.\n\
    4. Reports. The Supplier shall send a report when asked.";

/// `contract`'s tasks in `status` once there are `n` of them.
async fn tasks(org: &Org, contract: &str, status: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let (code, page) = org
            .call(
                0,
                None,
                Method::GET,
                &format!("/api/v1/contracts/{contract}/obligation-tasks?status={status}"),
                None,
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.len() == n {
            return items;
        }
        assert!(Instant::now() < deadline, "{n} {status} tasks; got {page}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// Makes a redacted copy of `contract` that readers below the original's role read
/// in its place.
async fn restrict_original(org: &Org, contract: &str) {
    let path = format!("/api/v1/contracts/{contract}");
    let version = org.call(0, None, Method::GET, &path, None).await.1["version"].clone();
    let (code, copy) = org
        .call(
            0,
            None,
            Method::POST,
            &format!("{path}/redactions"),
            Some(json!({"version": version, "accepted": [], "rejected": []})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{copy}");
}

/// When the pending obligation reminders fire, earliest first.
async fn pending(org: &Org) -> Vec<DateTime<Utc>> {
    let mut at: Vec<DateTime<Utc>> = timers(org, "intelligence.obligation_reminder", "%")
        .await
        .into_iter()
        .map(|(_, at)| at)
        .collect();
    at.sort();
    at
}

#[tokio::test]
async fn dated_obligations_become_tasks_reminded_to_their_assignee() {
    let mut org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[],
        &[("olive", "member"), ("mark", "member"), ("vera", "viewer")],
    )
    .await;
    let contract = org
        .contract(
            "olive",
            "Hosting",
            json!({"body": BODY, "start_date": "2027-01-15"}),
        )
        .await;
    let open = tasks(&org, &contract, "open", 2).await;
    let olive = org.people["olive"].0.clone();
    let summary: Vec<(&str, &str, &str)> = open
        .iter()
        .map(|t| {
            (
                t["party"].as_str().unwrap(),
                t["due_date"].as_str().unwrap(),
                t["due_source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Customer", "2027-02-14", "effective_date"),
            ("The Supplier", "2027-03-01", "text"),
        ]
    );
    assert!(open.iter().all(|t| t["assignee_id"] == olive.as_str()));
    assert!(open[1]["passage"]
        .as_str()
        .unwrap()
        .contains("migration plan by March 1, 2027"));
    let (fee, plan) = (
        open[0]["id"].as_str().unwrap().to_owned(),
        open[1]["id"].as_str().unwrap().to_owned(),
    );
    // Seven days before and on the day, at 09:00 in the tenant's zone (UTC here).
    assert_eq!(
        pending(&org).await,
        [
            at("2027-02-07T09:00:00Z"),
            at("2027-02-14T09:00:00Z"),
            at("2027-02-22T09:00:00Z"),
            at("2027-03-01T09:00:00Z"),
        ]
    );

    // Each person's own list; a viewer reads them but does not change them.
    let mine = |who: &'static str| {
        let org = &org;
        async move {
            let (code, page) = org
                .as_(
                    who,
                    Method::GET,
                    "/api/v1/obligation-tasks?assignee=me",
                    None,
                )
                .await;
            assert_eq!(code, StatusCode::OK, "{page}");
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(mine("olive").await, 2);
    assert_eq!(mine("mark").await, 0);
    let task_path = |id: &str| format!("/api/v1/obligation-tasks/{id}");
    for who in ["vera", "mark"] {
        let (code, body) = org
            .as_(
                who,
                Method::PATCH,
                &task_path(&fee),
                Some(json!({"status": "done"})),
            )
            .await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{who}: {body}");
    }

    // The owner hands the fee to Mark, who is reminded seven days before it is due.
    let mark = org.people["mark"].0.clone();
    let (code, moved) = org
        .as_(
            "olive",
            Method::PATCH,
            &task_path(&fee),
            Some(json!({"assignee_id": mark})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{moved}");
    assert_eq!(moved["assignee_id"], mark.as_str());
    assert_eq!(mine("mark").await, 1);
    org.advance_to(at("2027-02-07T09:00:00Z"));
    org.relogin().await;
    let inbox = org.inbox("mark", 1).await;
    assert_eq!(inbox[0]["type"], "obligation_due", "{inbox:?}");
    let title = inbox[0]["title"].as_str().unwrap();
    assert!(
        title.contains("Due in 7 days (2027-02-14)") && title.contains("pay the set-up fee"),
        "{title}"
    );

    // Mark closes it: its last reminder is cancelled; the plan's two stay.
    let (code, done) = org
        .as_(
            "mark",
            Method::PATCH,
            &task_path(&fee),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["decided_by"].as_str()),
        (Some("done"), Some(mark.as_str()))
    );
    assert_eq!(
        pending(&org).await,
        [at("2027-02-22T09:00:00Z"), at("2027-03-01T09:00:00Z")]
    );

    // Bad changes are refused and change nothing.
    for (body, expected) in [
        (json!({}), StatusCode::BAD_REQUEST),
        (json!({"status": "superseded"}), StatusCode::BAD_REQUEST),
        (
            json!({"status": "open", "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"assignee_id": uuid::Uuid::new_v4()}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"due_date": "0000-01-01"}), StatusCode::BAD_REQUEST),
        (json!({"due_date": "2999-01-01"}), StatusCode::BAD_REQUEST),
        (json!({"due_date": "2027-3-1"}), StatusCode::BAD_REQUEST),
        (json!(["done"]), StatusCode::BAD_REQUEST),
    ] {
        let (code, answer) = org
            .call(
                0,
                None,
                Method::PATCH,
                &task_path(&plan),
                Some(body.clone()),
            )
            .await;
        assert_eq!(code, expected, "{body}: {answer}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
    }
    let unknown = task_path(&uuid::Uuid::new_v4().to_string());
    let (code, _) = org
        .call(
            0,
            None,
            Method::PATCH,
            &unknown,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    for query in [
        "status=bogus",
        "assignee=bogus",
        "cursor=bogus",
        "limit=0",
        "due_before=2027-13-01",
        "other=1",
    ] {
        let (code, answer) = org
            .call(
                0,
                None,
                Method::GET,
                &format!("/api/v1/obligation-tasks?{query}"),
                None,
            )
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
    assert_eq!(
        tasks(&org, &contract, "open", 1).await[0]["id"],
        plan.as_str()
    );

    // A date set by hand moves the reminders and stays through a new start date.
    let (code, moved) = org
        .call(
            0,
            None,
            Method::PATCH,
            &task_path(&plan),
            Some(json!({"due_date": "2027-04-01"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{moved}");
    assert_eq!(moved["due_source"], "person");
    assert_eq!(
        pending(&org).await,
        [at("2027-03-25T09:00:00Z"), at("2027-04-01T09:00:00Z")]
    );

    // The text no longer states the plan: its task is superseded, its reminders gone,
    // and it cannot be changed; the closed fee task stays closed.
    org.edit(
        0,
        &contract,
        json!({"body": "Customer shall pay the set-up fee within 30 days of the Effective Date."}),
    )
    .await;
    let gone = tasks(&org, &contract, "superseded", 1).await;
    assert_eq!(gone[0]["id"], plan.as_str());
    assert!(pending(&org).await.is_empty());
    let (code, answer) = org
        .call(
            0,
            None,
            Method::PATCH,
            &task_path(&plan),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(
        (code, answer["error"].as_str()),
        (StatusCode::CONFLICT, Some("task_superseded"))
    );
    assert_eq!(
        tasks(&org, &contract, "done", 1).await[0]["id"],
        fee.as_str()
    );

    // A viewer the redacted original is kept from reads none of its tasks.
    restrict_original(&org, &contract).await;
    let (code, page) = org
        .as_(
            "vera",
            Method::GET,
            "/api/v1/obligation-tasks?status=all",
            None,
        )
        .await;
    assert_eq!(
        (code, page["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (code, _) = org
        .as_(
            "vera",
            Method::GET,
            &format!("/api/v1/contracts/{contract}/obligation-tasks"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (_, page) = org
        .as_(
            "olive",
            Method::GET,
            "/api/v1/obligation-tasks?status=all",
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
}

/// Each task's due date, occurrence and period, in the order listed.
fn occurrences(tasks: &[Value]) -> Vec<(String, i64, String)> {
    tasks
        .iter()
        .map(|t| {
            (
                t["due_date"].as_str().unwrap().to_owned(),
                t["occurrence"].as_i64().unwrap(),
                t["recurs"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_recurring_obligation_is_a_series_of_tasks() {
    let mut org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[],
        &[("olive", "member"), ("vera", "viewer")],
    )
    .await;
    let body = "1. Reports. The Supplier shall send a monthly service report.\n\
                2. Reviews. Customer shall review the account quarterly.";
    let term = org
        .contract(
            "olive",
            "Managed service",
            json!({"body": body, "start_date": "2027-01-31", "end_date": "2027-06-30"}),
        )
        .await;
    let open = tasks(&org, &term, "open", 6).await;
    let month = |d: &str, n: i64| (d.to_owned(), n, "monthly".to_owned());
    // Listed by date; the two due on 2027-04-30 in either order.
    let mut listed = occurrences(&open);
    listed.sort();
    assert_eq!(
        listed,
        [
            month("2027-02-28", 1),
            month("2027-03-31", 2),
            ("2027-04-30".to_owned(), 1, "quarterly".to_owned()),
            month("2027-04-30", 3),
            month("2027-05-31", 4),
            month("2027-06-30", 5),
        ]
    );
    // Each occurrence is reminded on its own.
    let reminders = timers(&org, "intelligence.obligation_reminder", "%").await;
    assert_eq!(reminders.len(), 12, "{reminders:?}");

    // An earlier end date ends the series there: the occurrences after it are
    // superseded with their reminders.
    org.edit(0, &term, json!({"end_date": "2027-03-31"})).await;
    let gone = tasks(&org, &term, "superseded", 4).await;
    assert!(gone
        .iter()
        .all(|t| t["due_date"].as_str().unwrap() > "2027-03-31"));
    assert_eq!(
        occurrences(&tasks(&org, &term, "open", 2).await),
        [month("2027-02-28", 1), month("2027-03-31", 2)]
    );
    assert_eq!(
        timers(&org, "intelligence.obligation_reminder", "%")
            .await
            .len(),
        4
    );

    // With no end date the series is made a year ahead, and read again the day after
    // its next occurrence, which makes one more; the one now due stays open.
    let rolling = org
        .contract(
            "olive",
            "Support",
            json!({"body": "The Supplier shall send a monthly report.", "start_date": "2027-01-15"}),
        )
        .await;
    let open = tasks(&org, &rolling, "open", 10).await;
    assert_eq!(
        (open[0]["due_date"].as_str(), open[9]["due_date"].as_str()),
        (Some("2027-02-15"), Some("2027-11-15"))
    );
    let series = format!("obligation-series:{rolling}:%");
    let key = |day: &str| format!("obligation-series:{rolling}:{day}");
    assert_eq!(
        timers(&org, "intelligence.track_obligations", &series).await,
        [(key("2027-02-16"), at("2027-02-16T00:00:00Z"))]
    );
    org.advance_to(at("2027-02-16T00:00:01Z"));
    org.relogin().await;
    let open = tasks(&org, &rolling, "open", 13).await;
    assert_eq!(
        (open[0]["due_date"].as_str(), open[0]["occurrence"].as_i64()),
        (Some("2027-02-15"), Some(1))
    );
    assert_eq!(open[12]["due_date"], "2028-02-15");
    assert_eq!(
        timers(&org, "intelligence.track_obligations", &series).await,
        [(key("2027-03-16"), at("2027-03-16T00:00:00Z"))]
    );
    assert_eq!(tasks(&org, &rolling, "superseded", 0).await.len(), 0);

    // The calendar shows each open occurrence on its day, beside the contracts' own
    // dates, page by page; a reader kept from a redacted original sees none of its.
    let calendar = |who: &'static str| {
        let org = &org;
        async move {
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let (code, page) = org
                    .as_(
                        who,
                        Method::GET,
                        &format!("/api/v1/calendar?from=2027-02-01&to=2027-03-31&limit=2{cursor}"),
                        None,
                    )
                    .await;
                assert_eq!(code, StatusCode::OK, "{page}");
                for e in page["items"].as_array().unwrap() {
                    let by = e["obligation"].as_str().unwrap_or_default().to_owned();
                    seen.push((
                        e["date"].as_str().unwrap().to_owned(),
                        e["kind"].as_str().unwrap().to_owned(),
                        by,
                    ));
                }
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = format!("&cursor={next}"),
                    None => return seen,
                }
            }
        }
    };
    let event = |day: &str, kind: &str, by: &str| (day.to_owned(), kind.to_owned(), by.to_owned());
    let report = "The Supplier: send a monthly report";
    let service = "The Supplier: send a monthly service report";
    assert_eq!(
        calendar("vera").await,
        [
            event("2027-02-15", "obligation", report),
            event("2027-02-28", "obligation", service),
            event("2027-03-15", "obligation", report),
            event("2027-03-31", "end", ""),
            event("2027-03-31", "obligation", service),
        ]
    );
    restrict_original(&org, &rolling).await;
    let kept_from: Vec<_> = calendar("vera").await.into_iter().map(|e| e.2).collect();
    assert_eq!(kept_from, [service, "", service]);
    assert_eq!(calendar("olive").await.len(), 5);
}

#[tokio::test]
async fn new_obligation_reminder_settings_move_the_reminders_already_scheduled() {
    let org = org(at("2026-12-01T12:00:00Z"), 1, &[], &[("olive", "member")]).await;
    let contract = org
        .contract(
            "olive",
            "Hosting",
            json!({"body": BODY, "start_date": "2027-01-15"}),
        )
        .await;
    let open = tasks(&org, &contract, "open", 2).await;
    let (fee, plan) = (
        open[0]["id"].as_str().unwrap().to_owned(),
        open[1]["id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(pending(&org).await.len(), 4, "7 days before and on the day");
    // A closed task is reminded of no more, whatever the settings.
    let (code, done) = org
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/obligation-tasks/{fee}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{done}");
    let like = format!("obligation:{plan}:%");
    let key = |days: i32| format!("obligation:{plan}:{days}");
    let kind = "intelligence.obligation_reminder";
    settle_timers(
        &org,
        kind,
        &like,
        &[
            (key(0), at("2027-03-01T09:00:00Z")),
            (key(7), at("2027-02-22T09:00:00Z")),
        ],
    )
    .await;

    // New days: the open task's reminders are worked out again in the background.
    let defaults = "/api/v1/notification-preferences/defaults";
    put_ok(&org, defaults, json!({"obligation_reminder_days": [14, 3]})).await;
    let new_days = [
        (key(14), at("2027-02-15T09:00:00Z")),
        (key(3), at("2027-02-26T09:00:00Z")),
    ];
    settle_timers(&org, kind, &like, &new_days).await;
    assert_eq!(pending(&org).await.len(), 2, "none for the closed task");

    // The business calendar's zone, which they follow when the defaults name none:
    // 09:00 in Paris (winter, UTC+1).
    let calendar = json!({"timezone": "Europe/Paris",
        "working_days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00",
        "holidays": []});
    put_ok(&org, "/api/v1/business-calendar", calendar).await;
    settle_timers(
        &org,
        kind,
        &like,
        &[
            (key(14), at("2027-02-15T08:00:00Z")),
            (key(3), at("2027-02-26T08:00:00Z")),
        ],
    )
    .await;

    // What does not move a reminder starts no walk of the tasks.
    let walks = "select count(*) from public.jobs \
                 where kind = 'intelligence.obligation_reminders_rescheduled'";
    let before = count(&org, walks).await;
    assert_eq!(before, 2, "one walk for each change that moves reminders");
    let unrelated = json!({"obligation_reminder_days": [14, 3], "reminder_days": [45]});
    put_ok(&org, defaults, unrelated).await;
    assert_eq!(count(&org, walks).await, before);
}
