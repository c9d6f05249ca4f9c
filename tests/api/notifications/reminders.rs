//! Contract reminders: timers that move and cancel with the contract.

use super::*;

#[tokio::test]
async fn reminders_are_timers_that_move_and_cancel_with_the_contract() {
    let mut org = org(at("2026-12-01T12:00:00Z"), 1, &[], &[("olive", "member")]).await;
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
