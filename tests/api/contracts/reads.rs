//! Reading contracts: versions and their diffs, lists with filters, sorting, search
//! and facets, and one envelope whose cursors walk every list whole.

use super::*;

#[tokio::test]
async fn versions_keep_every_text_and_diff_by_line() {
    let clm = Clm::new().await;
    let created = clm
        .create(
            &clm.member,
            json!({"title": "MSA", "contract_type": "msa", "body": "one\ntwo\nthree\n"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/contracts/{id}");
    clm.json(
        Method::PATCH,
        &path,
        &clm.member,
        Some(json!({"version": 1, "body": "one\n2\nthree\nfour\n"})),
    )
    .await;
    clm.json(
        Method::PATCH,
        &path,
        &clm.member,
        Some(json!({"version": 2, "tags": ["x"]})),
    )
    .await;
    let (_, versions) = clm
        .json(Method::GET, &format!("{path}/versions"), &clm.viewer, None)
        .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2], "a tags-only change keeps no new text");
    let (_, first) = clm
        .json(
            Method::GET,
            &format!("{path}/versions/1"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(first["body"], "one\ntwo\nthree\n");
    let (status, diff) = clm
        .json(
            Method::GET,
            &format!("{path}/diff?from=1&to=2"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (diff["lines_added"].as_i64(), diff["lines_removed"].as_i64()),
        (Some(2), Some(1))
    );
    let unified = diff["unified"].as_str().unwrap();
    assert!(
        unified.contains("-two\n") && unified.contains("+2\n") && unified.contains("+four\n"),
        "{unified}"
    );
    let (status, _) = clm
        .json(
            Method::GET,
            &format!("{path}/diff?from=1&to=9"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_filter_sort_search_and_facet() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Globex Corporation"})),
        )
        .await;
    let globex = counterparty["id"].as_str().unwrap();
    for (title, kind, value, end, tags, body) in [
        (
            "Cloud hosting MSA",
            "msa",
            "50000",
            "2027-03-31",
            vec!["cloud"],
            "Hosting of servers and uptime credits.",
        ),
        (
            "Mutual NDA",
            "nda",
            "0",
            "2026-12-31",
            vec![],
            "Confidential information stays confidential.",
        ),
        (
            "Office lease",
            "lease",
            "240000.00",
            "2030-06-30",
            vec!["facilities"],
            "The tenant leases the premises.",
        ),
        (
            "Migration SOW",
            "sow",
            "12000.5",
            "2027-01-31",
            vec!["cloud"],
            "Migration of the hosting platform.",
        ),
    ] {
        let mut contract = json!({"title": title, "contract_type": kind, "value": value, "currency": "USD",
            "end_date": end, "tags": tags, "body": body});
        if kind == "msa" || kind == "sow" {
            contract["counterparty_id"] = json!(globex);
        }
        clm.create(&clm.member, contract).await;
    }

    assert_eq!(
        titles(&clm, "sort=title").await,
        [
            "Cloud hosting MSA",
            "Migration SOW",
            "Mutual NDA",
            "Office lease"
        ]
    );
    assert_eq!(titles(&clm, "contract_type=nda").await, ["Mutual NDA"]);
    assert_eq!(
        titles(&clm, "tag=cloud&sort=-value").await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    assert_eq!(
        titles(&clm, "value_min=12000.5&value_max=50000&sort=value").await,
        ["Migration SOW", "Cloud hosting MSA"]
    );
    assert_eq!(
        titles(&clm, "end_from=2027-01-01&end_to=2027-12-31&sort=end_date").await,
        ["Migration SOW", "Cloud hosting MSA"]
    );
    assert_eq!(
        titles(&clm, &format!("counterparty_id={globex}&sort=title")).await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    // Title matches outrank body matches.
    assert_eq!(
        titles(&clm, "q=hosting").await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    assert_eq!(titles(&clm, "q=confidential").await, ["Mutual NDA"]);
    assert_eq!(
        titles(&clm, "q=%22uptime credits%22").await,
        ["Cloud hosting MSA"]
    );
    assert!(titles(&clm, "q=nothing-matches-this").await.is_empty());
    let (_, page) = clm
        .json(
            Method::GET,
            "/api/v1/contracts?limit=2&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    assert!(page["next_cursor"].is_string(), "more than two contracts");
    assert!(
        page["items"][0].get("body").is_none(),
        "lists leave bodies out"
    );
    // Following the cursors walks every contract once, in the same order.
    let mut walked = Vec::new();
    let mut page = page;
    loop {
        walked.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap().to_owned()),
        );
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        page = clm
            .json(
                Method::GET,
                &format!("/api/v1/contracts?limit=2&sort=title&cursor={cursor}"),
                &clm.viewer,
                None,
            )
            .await
            .1;
    }
    let (_, all) = clm
        .json(
            Method::GET,
            "/api/v1/contracts?limit=100&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    let every: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(every.len() > 2);
    assert_eq!(walked, every);

    let (status, facets) = clm
        .json(
            Method::GET,
            "/api/v1/contracts/facets?tag=cloud",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(facets["total"], 2);
    assert_eq!(facets["status"]["draft"], 2);
    assert_eq!(facets["status"]["executed"], 0);
    assert_eq!(facets["contract_type"], json!({"msa": 1, "sow": 1}));

    for bad in [
        "status=signed",
        "sort=password",
        "sort=rank",
        "limit=1000",
        "value_min=1e3",
        "currency=usd",
        "end_from=2027-01-01&end_to=2026-01-01",
        "owner_id=not-a-uuid",
        "unknown=1",
    ] {
        let response = clm
            .send(
                Method::GET,
                &format!("/api/v1/contracts?{bad}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn every_list_has_one_envelope_and_its_cursors_walk_it_whole() {
    let clm = Clm::new().await;
    let contract = clm
        .create(
            &clm.admin,
            json!({"title": "Paged", "contract_type": "nda", "body": "v1",
                   "start_date": "2026-02-01", "end_date": "2026-12-31", "renewal_notice_days": 30}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..2 {
        clm.create(&clm.member, nda(&format!("Another {n}"))).await;
    }
    for n in 0..3 {
        let path = format!("/api/v1/contracts/{contract}");
        let (status, _) = clm
            .json(
                Method::PATCH,
                &path,
                &clm.admin,
                Some(json!({"version": n + 1, "body": format!("v{}", n + 2)})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = clm
            .json(
                Method::POST,
                &format!("{path}/comments"),
                &clm.admin,
                Some(json!({"body": format!("comment {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, counterparty) = clm
            .json(
                Method::POST,
                "/api/v1/counterparties",
                &clm.admin,
                Some(json!({"name": format!("Party {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{counterparty}");
        let (status, contact) = clm
            .json(
                Method::POST,
                "/api/v1/contacts",
                &clm.admin,
                Some(json!({"name": format!("Person {n}"), "account_ids": [counterparty["id"]]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        let (status, clause) = clm
            .json(
                Method::POST,
                "/api/v1/clauses",
                &clm.admin,
                Some(json!({"title": format!("Clause {n}"), "category": "confidentiality", "body": "The parties keep secrets."})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{clause}");
        let (status, _) = clm
            .json(
                Method::POST,
                &format!("{path}/clauses"),
                &clm.admin,
                Some(json!({"clause_id": clause["id"]})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = clm
            .json(
                Method::POST,
                "/api/v1/templates",
                &clm.admin,
                Some(json!({"name": format!("Template {n}"), "contract_type": "nda", "body": "Hello"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let response = upload(
            &clm,
            HOST,
            &clm.admin,
            &contract,
            &format!("f{n}.txt"),
            "text/plain",
            b"text".to_vec(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // Jobs of these changes (reading the file, weighing the risk) record events of their
    // own; the lists are walked once nothing is due.
    clm.db
        .until_none(
            "select count(*) from public.jobs where state in ('available', 'running') \
                 or (state in ('scheduled', 'retryable') and run_at < now() + interval '10 seconds')",
            std::time::Duration::from_secs(60),
            "jobs due",
        )
        .await;
    for (path, key) in [
        ("/api/v1/users".to_owned(), "id"),
        ("/api/v1/contracts".to_owned(), "id"),
        ("/api/v1/counterparties".to_owned(), "id"),
        ("/api/v1/contacts".to_owned(), "id"),
        ("/api/v1/clauses".to_owned(), "id"),
        ("/api/v1/templates".to_owned(), "id"),
        ("/api/v1/contract-types".to_owned(), "key"),
        ("/api/v1/audit-logs".to_owned(), "id"),
        (format!("/api/v1/contracts/{contract}/versions"), "version"),
        (format!("/api/v1/contracts/{contract}/comments"), "id"),
        (format!("/api/v1/contracts/{contract}/attachments"), "id"),
        (format!("/api/v1/contracts/{contract}/clauses"), "id"),
        (
            "/api/v1/calendar?from=2026-01-01&to=2026-12-31".to_owned(),
            "kind",
        ),
    ] {
        let whole = walk(&clm, &path, 100, key).await;
        assert!(whole.len() >= 3, "{path}: {whole:?}");
        assert_eq!(walk(&clm, &path, 1, key).await, whole, "{path} one by one");
        assert_eq!(walk(&clm, &path, 2, key).await, whole, "{path} two by two");
    }
}

#[tokio::test]
async fn the_contract_register_exports_as_its_list_shows_it() {
    let clm = Clm::new().await;
    for (title, kind, value, tags, body) in [
        (
            "=SUM(A1:A9)",
            "msa",
            "50000",
            vec!["cloud"],
            "Hosting of servers.",
        ),
        (
            "Mutual NDA",
            "nda",
            "0",
            vec![],
            "Confidential information.",
        ),
        (
            "Migration SOW",
            "sow",
            "12000.5",
            vec!["cloud", "eu"],
            "Migration of the hosting platform.",
        ),
    ] {
        clm.create(
            &clm.member,
            json!({"title": title, "contract_type": kind, "value": value, "currency": "USD",
                   "tags": tags, "body": body}),
        )
        .await;
    }
    let read = |text: String| -> Vec<Vec<String>> {
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    };
    for filters in [
        "tag=cloud&sort=-value",
        "q=hosting&sort=title",
        "contract_type=nda",
        "",
    ] {
        let (status, list) = clm
            .json(
                Method::GET,
                &format!("/api/v1/contracts?{filters}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let response = clm
            .send(
                Method::GET,
                &format!("/api/v1/contracts/export?{filters}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{filters}");
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let rows = read(response.text().await.unwrap());
        let exported: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            exported, listed,
            "{filters}: the export and the list differ"
        );
        assert!(!exported.is_empty(), "{filters}");
    }
    let response = clm
        .send(
            Method::GET,
            "/api/v1/contracts/export?tag=cloud&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    let rows = read(response.text().await.unwrap());
    assert_eq!(rows[0][1], "'=SUM(A1:A9)", "a formula title is defused");
    assert_eq!(rows[1][1..4], ["Migration SOW", "sow", "draft"]);
    assert_eq!(rows[1][12], "cloud;eu");
    for (path, code) in [
        ("/api/v1/contracts/export?limit=5", "bad_request"),
        ("/api/v1/contracts/export?colour=red", "bad_request"),
        ("/api/v1/contracts/export?sort=colour", "invalid_input"),
        ("/api/v1/contracts/facets?limit=5", "bad_request"),
        ("/api/v1/contracts/facets?sort=title", "invalid_input"),
    ] {
        let (status, body) = clm.json(Method::GET, path, &clm.viewer, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
    }
    assert_eq!(
        clm.status(Method::GET, "/api/v1/contracts/export", "not a token", None)
            .await,
        StatusCode::UNAUTHORIZED
    );
}
