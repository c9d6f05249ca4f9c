//! The inbox over time: what it keeps, and for how long.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{count, org};

#[tokio::test]
async fn an_inbox_forgets_what_is_older_than_its_period_read_or_not() {
    let start = Utc::now();
    let mut org = org(
        start,
        1,
        &[("PACTUM_INBOX_DAYS", "30")],
        &[("olga", "member")],
    )
    .await;
    let contract = org.contract("olga", "Lease", json!({})).await;
    org.edit(0, &contract, json!({"title": "Lease v2"})).await;
    org.edit(0, &contract, json!({"title": "Lease v3"})).await;
    let old: Vec<i64> = org
        .inbox("olga", 2)
        .await
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    let (status, _) = org
        .as_(
            "olga",
            Method::POST,
            &format!("/api/v1/notifications/{}/read", old[0]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A third one, whose email is still to be sent (held, as quiet hours or a digest
    // hold it), outlives the period until it has gone.
    org.edit(0, &contract, json!({"title": "Lease v2b"})).await;
    let held = org.inbox("olga", 3).await[0]["id"].as_i64().unwrap();
    org.db
        .client()
        .await
        .execute(
            "update t_acme.notification_deliveries set state = 'pending', \
             send_after = now() + interval '10 years' where notification_id = $1",
            &[&held],
        )
        .await
        .unwrap();

    // Within the period: a new one joins them, nothing is forgotten.
    org.advance_to(start + Duration::days(20));
    org.relogin().await;
    org.edit(0, &contract, json!({"title": "Lease v4"})).await;
    let within = org.inbox("olga", 4).await;
    let kept = within[0]["id"].as_i64().unwrap();
    assert!(!old.contains(&kept));

    // Past it: the next notification made forgets the two older than 30 days, the one
    // read and the one not, and keeps the one of day 20 and the one still to be sent.
    org.advance_to(start + Duration::days(31));
    org.relogin().await;
    org.edit(0, &contract, json!({"title": "Lease v5"})).await;
    let after = org
        .inbox_until("olga", "the new one, without the two expired", |items| {
            items.len() == 3
                && items
                    .iter()
                    .all(|n| !old.contains(&n["id"].as_i64().unwrap()))
        })
        .await;
    assert_eq!(after[1]["id"].as_i64().unwrap(), kept);
    assert_eq!(after[2]["id"].as_i64().unwrap(), held);
    assert_eq!(
        count(
            &org,
            &format!(
                "select count(*) from t_acme.notifications where id in ({}, {})",
                old[0], old[1]
            )
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &org,
            &format!(
                "select count(*) from t_acme.notification_deliveries where notification_id in ({}, {})",
                old[0], old[1]
            )
        )
        .await,
        0,
        "their deliveries' records go with them"
    );
}
