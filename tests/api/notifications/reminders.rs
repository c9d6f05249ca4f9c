//! Contract reminders: timers that move and cancel with the contract.

use super::*;

#[tokio::test]
async fn reminders_are_timers_that_move_and_cancel_with_the_contract() {
    // The clock runs over more than a year: the inbox keeps what it told for longer.
    let mut org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[("PACTUM_INBOX_DAYS", "3650")],
        &[("olive", "member")],
    )
    .await;
    let contract = org
        .contract("olive", "Lease", json!({"start_date": "2026-01-01", "end_date": "2027-06-30", "renewal_notice_days": 60}))
        .await;
    let key = |rest: &str| format!("reminder:{contract}:{rest}");
    assert_eq!(
        reminders(&org, &contract).await,
        vec![
            (key("expiring:30"), at("2027-05-31T09:00:00Z")),
            (key("expiring:60"), at("2027-05-01T09:00:00Z")),
            (key("expiring:90"), at("2027-04-01T09:00:00Z")),
            (key("renewal_notice:14"), at("2027-04-17T09:00:00Z")),
        ]
    );

    // Renewed: the end date moves a year; every reminder moves with it.
    org.edit(0, &contract, json!({"end_date": "2028-06-30"}))
        .await;
    let moved = reminders(&org, &contract).await;
    assert_eq!(moved.len(), 4);
    assert!(
        moved.contains(&(key("expiring:90"), at("2028-04-01T09:00:00Z"))),
        "{moved:?}"
    );
    let client = org.db.client().await;
    let cancelled: i64 = client
        .query_one("select count(*) from public.jobs where kind = 'notifications.contract_reminder' and state = 'cancelled'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        cancelled, 4,
        "the old ones were cancelled, not left to fire"
    );

    // Its time comes: the owner is told, once.
    org.advance_to(at("2028-04-01T09:00:00Z"));
    org.relogin().await;
    // The inbox also holds the `contract_updated` of the admin's edit above.
    let inbox = org.inbox("olive", 2).await;
    let told: Vec<&Value> = inbox
        .iter()
        .filter(|n| n["type"] == "contract_expiring")
        .collect();
    assert_eq!(told.len(), 1, "{inbox:?}");
    assert!(
        told[0]["title"]
            .as_str()
            .unwrap()
            .contains("Lease ends in 90 days"),
        "{}",
        told[0]
    );
    assert_eq!(reminders(&org, &contract).await.len(), 3);

    // Fourteen days before the renewal-notice date (end minus 60 days: 2028-05-01).
    org.advance_to(at("2028-04-17T09:00:00Z"));
    org.relogin().await;
    let inbox = org.inbox("olive", 3).await;
    let notice: Vec<&Value> = inbox
        .iter()
        .filter(|n| n["type"] == "renewal_notice_due")
        .collect();
    assert_eq!(notice.len(), 1, "{inbox:?}");
    assert!(
        notice[0]["title"].as_str().unwrap().contains("2028-05-01"),
        "{}",
        notice[0]
    );
    assert_eq!(reminders(&org, &contract).await.len(), 2);

    // Terminated: nothing left to remind of.
    for to in ["in_review", "approved", "executed", "terminated"] {
        let (status, body) = org
            .call(
                0,
                None,
                Method::POST,
                &format!("/api/v1/contracts/{contract}/transition"),
                Some(json!({"to": to})),
            )
            .await;
        assert!(status.is_success(), "{to}: {status} {body}");
    }
    assert!(reminders(&org, &contract).await.is_empty());
}

#[tokio::test]
async fn new_reminder_settings_move_the_reminders_already_scheduled() {
    let org = org(at("2026-12-01T12:00:00Z"), 1, &[], &[("olive", "member")]).await;
    let contract = org
        .contract(
            "olive",
            "Lease",
            json!({"start_date": "2026-01-01", "end_date": "2027-06-30"}),
        )
        .await;
    let open_ended = org.contract("olive", "Retainer", json!({})).await;
    let key = |rest: &str| format!("reminder:{contract}:{rest}");
    assert_eq!(reminders(&org, &contract).await.len(), 3, "90, 60, 30");

    // New days: the contract's reminders are worked out again in the background, the
    // days no longer wanted cancelled and the new ones scheduled.
    let defaults = "/api/v1/notification-preferences/defaults";
    let (status, saved) = org
        .call(
            0,
            None,
            Method::PUT,
            defaults,
            Some(json!({"reminder_days": [45, 7]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let expected = vec![
        (key("expiring:45"), at("2027-05-16T09:00:00Z")),
        (key("expiring:7"), at("2027-06-23T09:00:00Z")),
    ];
    settle_on(&org, &contract, &expected).await;
    assert!(reminders(&org, &open_ended).await.is_empty());

    // The business calendar's zone, which reminders follow when the defaults name none:
    // 09:00 in Paris (summer, UTC+2).
    let calendar = json!({"timezone": "Europe/Paris",
        "working_days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00",
        "holidays": []});
    let (status, body) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/business-calendar",
            Some(calendar.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let in_paris = vec![
        (key("expiring:45"), at("2027-05-16T07:00:00Z")),
        (key("expiring:7"), at("2027-06-23T07:00:00Z")),
    ];
    settle_on(&org, &contract, &in_paris).await;

    // What does not move a reminder starts no walk: the brand, the calendar's hours.
    let walks = || async {
        org.db
            .client()
            .await
            .query_one(
                "select count(*) from public.jobs where kind = 'notifications.reminders_rescheduled'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = walks().await;
    assert_eq!(before, 2, "one walk for each change that moves reminders");
    let (status, _) = org
        .call(
            0,
            None,
            Method::PUT,
            defaults,
            Some(json!({"reminder_days": [45, 7], "brand_color": "#112233"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut later = calendar;
    later["end"] = json!("18:00");
    let (status, _) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/business-calendar",
            Some(later),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(walks().await, before);
    assert_eq!(reminders(&org, &contract).await, in_paris);
}

/// Waits until `contract`'s pending reminders are `expected`.
async fn settle_on(org: &Org, contract: &str, expected: &[(String, DateTime<Utc>)]) {
    let like = format!("reminder:{contract}:%");
    settle_timers(org, "notifications.contract_reminder", &like, expected).await;
}
