//! The events API: filtered, paged from a cursor, and never skipping an event whose
//! transaction was still open.

use super::*;

#[tokio::test]
async fn the_event_stream_is_filtered_and_paged_from_a_cursor() {
    let tenant = Tenant::new(&[]).await;
    let first = tenant.contract("One").await;
    tenant.contract("Two").await;
    let (status, _) = tenant
        .json(
            Method::POST,
            "/api/v1/counterparties",
            Some(json!({"name": "Globex"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Two contracts and a counterparty, each with its event.
    let all = tenant
        .app
        .settled_events(HOST, &tenant.admin, "/api/v1/events", 3)
        .await;
    let items = all["items"].as_array().unwrap();
    let ids: Vec<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    let (_, contracts) = tenant
        .json(Method::GET, "/api/v1/events?type=contract.*", None)
        .await;
    let types: Vec<&str> = contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["contract.created", "contract.created"]);
    let (_, one) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/events?entity=contract&entity_id={first}"),
            None,
        )
        .await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["items"][0]["actor_kind"], "user");
    assert!(one["items"][0]["request_id"].is_string());

    // Paging one at a time visits every event once, in order.
    let mut seen = Vec::new();
    let mut path = "/api/v1/events?limit=1".to_owned();
    loop {
        let (_, page) = tenant.json(Method::GET, &path, None).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/events?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let (_, after) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/events?after={}", ids[ids.len() - 2]),
            None,
        )
        .await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1);

    for bad in [
        "type=DROP%20TABLE",
        "type=contract",
        "after=-1",
        "limit=0",
        "limit=501",
        "bogus=1",
    ] {
        let response = tenant
            .app
            .call(
                Method::GET,
                HOST,
                &format!("/api/v1/events?{bad}"),
                &tenant.admin,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn the_event_cursor_never_skips_an_event_whose_transaction_was_still_open() {
    let tenant = Tenant::new(&[]).await;
    let (_, before) = tenant.json(Method::GET, "/api/v1/events", None).await;
    let mut cursor = before["items"]
        .as_array()
        .unwrap()
        .last()
        .map(|e| e["id"].as_i64().unwrap());
    let seen = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["entity"].as_str().unwrap().to_owned())
            .collect()
    };
    // A slow unit of work takes an event id, and stays open...
    let mut slow = tenant.db.client().await;
    let open = slow.transaction().await.unwrap();
    open.execute(
        "insert into t_acme.audit_logs (action, entity, changes) values ('create', 'slow', '{}')",
        &[],
    )
    .await
    .unwrap();
    // ...while a quick one takes a later id and commits.
    tenant.contract("Quick").await;
    let path = |after: Option<i64>| match after {
        Some(id) => format!("/api/v1/events?after={id}"),
        None => "/api/v1/events".to_owned(),
    };
    let (_, page) = tenant.json(Method::GET, &path(cursor), None).await;
    assert!(
        !seen(&page).contains(&"contract".to_owned()),
        "not served while an older transaction may still add an event before it: {page}"
    );
    if let Some(last) = page["items"].as_array().unwrap().last() {
        cursor = last["id"].as_i64();
    }
    open.commit().await.unwrap();
    // A client that continues from what it saw gets both, in commit order.
    let (_, page) = tenant.json(Method::GET, &path(cursor), None).await;
    assert_eq!(seen(&page), ["slow", "contract"], "{page}");
}
