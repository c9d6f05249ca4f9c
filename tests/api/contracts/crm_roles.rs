//! What every CRM record shares: comments hang off it, its list exports as CSV, and
//! who may do what to it, as one matrix: for each kind of record, a
//! member makes one; then each role tries to create, change and remove, and gets the
//! status its row says. Viewers read only; members change what they own or created;
//! managers change anything; removal is the manager's where a record holds history
//! (accounts, opportunities) and the owner's where it does not (contacts, leads).

use super::*;

/// One kind of record: where it lives, a body that creates it, a change to it, and
/// whether a member who owns it may remove it.
struct Kind {
    path: &'static str,
    create: Value,
    change: Value,
    owner_removes: bool,
}

async fn make(clm: &Clm, token: &str, path: &str, body: &Value) -> (StatusCode, String) {
    let (status, made) = clm
        .json(Method::POST, path, token, Some(body.clone()))
        .await;
    (status, made["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn every_crm_record_follows_the_role_matrix() {
    let clm = Clm::new().await;
    let (_, account) = make(
        &clm,
        &clm.manager,
        "/api/v1/counterparties",
        &json!({"name": "Matrix Co"}),
    )
    .await;
    let kinds = [
        Kind {
            path: "/api/v1/counterparties",
            create: json!({"name": "Acct {n}"}),
            change: json!({"notes": "changed"}),
            owner_removes: false,
        },
        Kind {
            path: "/api/v1/contacts",
            create: json!({"name": "Person {n}", "account_ids": [account]}),
            change: json!({"role": "champion"}),
            owner_removes: true,
        },
        Kind {
            path: "/api/v1/leads",
            create: json!({"name": "Lead {n}", "company": "Lead Co {n}"}),
            change: json!({"status": "contacted"}),
            owner_removes: true,
        },
        Kind {
            path: "/api/v1/opportunities",
            create: json!({"name": "Deal {n}", "account_id": account, "currency": "EUR"}),
            change: json!({"next_step": "call"}),
            owner_removes: false,
        },
        Kind {
            path: "/api/v1/invoices",
            create: json!({"account_id": account, "currency": "EUR",
                           "lines": [{"description": "Item {n}", "quantity": "1", "unit_price": "10"}]}),
            change: json!({"notes": "changed"}),
            owner_removes: false,
        },
        Kind {
            path: "/api/v1/cases",
            create: json!({"subject": "Case {n}", "account_id": account}),
            change: json!({"priority": "high"}),
            owner_removes: false,
        },
        Kind {
            path: "/api/v1/tasks",
            create: json!({"target_kind": "counterparty", "target_id": account, "title": "Task {n}"}),
            change: json!({"status": "in_progress"}),
            owner_removes: true,
        },
    ];
    let mut n = 0;
    let mut body = |kind: &Kind| {
        n += 1;
        serde_json::from_str::<Value>(&kind.create.to_string().replace("{n}", &n.to_string()))
            .unwrap()
    };
    for kind in &kinds {
        // Who may create.
        for (who, token, expected) in [
            ("viewer", &clm.viewer, StatusCode::FORBIDDEN),
            ("member", &clm.member, StatusCode::CREATED),
            ("manager", &clm.manager, StatusCode::CREATED),
        ] {
            let (status, _) = make(&clm, token, kind.path, &body(kind)).await;
            assert_eq!(status, expected, "{who} creates at {}", kind.path);
        }
        // Who may change a member's record.
        let (_, id) = make(&clm, &clm.member, kind.path, &body(kind)).await;
        let record = format!("{}/{id}", kind.path);
        for (who, token, expected) in [
            ("viewer", &clm.viewer, StatusCode::FORBIDDEN),
            ("another member", &clm.other_member, StatusCode::FORBIDDEN),
            ("its member", &clm.member, StatusCode::OK),
            ("a manager", &clm.manager, StatusCode::OK),
        ] {
            let status = clm
                .status(Method::PATCH, &record, token, Some(kind.change.clone()))
                .await;
            assert_eq!(status, expected, "{who} changes {record}");
        }
        // Everyone who may read, reads.
        assert_eq!(
            clm.status(Method::GET, &record, &clm.viewer, None).await,
            StatusCode::OK,
            "{record}"
        );
        // Who may remove it (invoices are voided, never removed: no DELETE route).
        if kind.path == "/api/v1/invoices" {
            assert_eq!(
                clm.status(Method::DELETE, &record, &clm.manager, None)
                    .await,
                StatusCode::METHOD_NOT_ALLOWED
            );
            continue;
        }
        for (who, token) in [
            ("viewer", &clm.viewer),
            ("another member", &clm.other_member),
        ] {
            assert_eq!(
                clm.status(Method::DELETE, &record, token, None).await,
                StatusCode::FORBIDDEN,
                "{who} removes {record}"
            );
        }
        let owner = clm.status(Method::DELETE, &record, &clm.member, None).await;
        if kind.owner_removes {
            assert_eq!(owner, StatusCode::NO_CONTENT, "its member removes {record}");
        } else {
            assert_eq!(owner, StatusCode::FORBIDDEN, "its member removes {record}");
            assert_eq!(
                clm.status(Method::DELETE, &record, &clm.manager, None)
                    .await,
                StatusCode::NO_CONTENT,
                "a manager removes {record}"
            );
        }
    }
    // The pipeline itself and the invoice numbering are the managers' and admins'.
    assert_eq!(
        clm.status(Method::GET, "/api/v1/pipeline/stages", &clm.viewer, None)
            .await,
        StatusCode::OK
    );
    assert_eq!(
        clm.status(
            Method::PUT,
            "/api/v1/invoice-settings",
            &clm.manager,
            Some(json!({"number_format": "X{NN}", "payment_terms_days": 1, "reminder_days": 0}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn comments_hang_off_every_crm_record_and_a_mention_links_back_to_it() {
    let clm = Clm::new().await;
    let (_, account) = make(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        &json!({"name": "Talk Co"}),
    )
    .await;
    let (_, lead) = make(
        &clm,
        &clm.member,
        "/api/v1/leads",
        &json!({"name": "Chatty"}),
    )
    .await;
    let (_, deal) = make(
        &clm,
        &clm.member,
        "/api/v1/opportunities",
        &json!({"name": "Talk deal", "account_id": account, "currency": "EUR"}),
    )
    .await;
    let (_, contact) = make(
        &clm,
        &clm.member,
        "/api/v1/contacts",
        &json!({"name": "Speaker"}),
    )
    .await;
    let (_, invoice) = make(
        &clm,
        &clm.member,
        "/api/v1/invoices",
        &json!({"account_id": account, "currency": "EUR",
                "lines": [{"description": "Talk", "quantity": "1", "unit_price": "1"}]}),
    )
    .await;
    let (_, case) = make(
        &clm,
        &clm.member,
        "/api/v1/cases",
        &json!({"subject": "Talk case", "account_id": account}),
    )
    .await;
    for (collection, id) in [
        ("counterparties", &account),
        ("contacts", &contact),
        ("leads", &lead),
        ("opportunities", &deal),
        ("invoices", &invoice),
        ("cases", &case),
    ] {
        let path = format!("/api/v1/{collection}/{id}/comments");
        let (status, comment) = clm
            .json(
                Method::POST,
                &path,
                &clm.member,
                Some(json!({"body": format!("@manager@example.com look at this {collection}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {comment}");
        assert_eq!(comment["mentions"].as_array().unwrap().len(), 1);
        assert_eq!(
            clm.status(
                Method::POST,
                &path,
                &clm.viewer,
                Some(json!({"body": "hi"}))
            )
            .await,
            StatusCode::FORBIDDEN
        );
        let (status, page) = clm.json(Method::GET, &path, &clm.viewer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{path}");
        // Nothing hangs off a record that is not there.
        let missing = format!("/api/v1/{collection}/{}/comments", uuid::Uuid::new_v4());
        assert_eq!(
            clm.status(
                Method::POST,
                &missing,
                &clm.member,
                Some(json!({"body": "x"}))
            )
            .await,
            StatusCode::NOT_FOUND
        );
    }
    // The mentioned manager is told, with a link back to the record's comments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let links = loop {
        let (_, inbox) = clm
            .json(
                Method::GET,
                "/api/v1/notifications?limit=50",
                &clm.manager,
                None,
            )
            .await;
        let links: Vec<String> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "mentioned")
            .map(|n| n["link"].as_str().unwrap().to_owned())
            .collect();
        if links.len() >= 6 {
            break links;
        }
        assert!(std::time::Instant::now() < deadline, "{inbox}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        links.contains(&format!("/api/v1/leads/{lead}/comments")),
        "{links:?}"
    );
    assert!(
        links.contains(&format!("/api/v1/invoices/{invoice}/comments")),
        "{links:?}"
    );
    assert!(
        links.contains(&format!("/api/v1/cases/{case}/comments")),
        "{links:?}"
    );
    // Files hang off CRM records too: their owner (or a manager) attaches them.
    let attach = |token: &str, kind: &str, id: &str| {
        let part = reqwest::multipart::Part::bytes(b"Signed quote.".to_vec())
            .file_name("quote.txt")
            .mime_str("text/plain")
            .unwrap();
        clm.app
            .request(
                Method::POST,
                HOST,
                &format!("/api/v1/attachments?target_kind={kind}&target_id={id}"),
            )
            .bearer_auth(token.to_owned())
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
    };
    let uploaded = attach(&clm.member, "lead", &lead).await.unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    for token in [&clm.viewer, &clm.other_member] {
        let refused = attach(token, "lead", &lead).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    let missing = attach(&clm.member, "lead", &uuid::Uuid::new_v4().to_string())
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unknown = attach(&clm.member, "planet", &lead).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let (status, files) = clm
        .json(
            Method::GET,
            &format!("/api/v1/attachments?target_kind=lead&target_id={lead}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(files["items"][0]["filename"], "quote.txt", "{files}");
    // Removing a record removes what hangs off it.
    assert_eq!(
        clm.status(
            Method::DELETE,
            &format!("/api/v1/leads/{lead}"),
            &clm.member,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        clm.count("select count(*) from t_acme.comments where target_kind = 'lead'")
            .await,
        0
    );
    assert_eq!(
        clm.count("select count(*) from t_acme.attachments where target_kind = 'lead'")
            .await,
        0
    );
}

#[tokio::test]
async fn every_crm_list_exports_as_csv_with_formulas_defused() {
    let clm = Clm::new().await;
    let (_, account) = make(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        &json!({"name": "=HYPERLINK(\"http://evil.example\")", "industry": "Retail, Online"}),
    )
    .await;
    make(
        &clm,
        &clm.member,
        "/api/v1/contacts",
        &json!({"name": "Ann", "phones": ["+1 555 0100"], "account_ids": [account]}),
    )
    .await;
    make(
        &clm,
        &clm.member,
        "/api/v1/leads",
        &json!({"name": "Line\nbreak", "company": "@corp"}),
    )
    .await;
    make(
        &clm,
        &clm.member,
        "/api/v1/opportunities",
        &json!({"name": "Deal", "account_id": account, "currency": "EUR", "amount": "12.50"}),
    )
    .await;
    make(
        &clm,
        &clm.member,
        "/api/v1/invoices",
        &json!({"account_id": account, "currency": "EUR", "issue_date": "2026-12-01",
                "lines": [{"description": "x", "quantity": "2", "unit_price": "3.25"}]}),
    )
    .await;
    let (status, _) = make(
        &clm,
        &clm.member,
        "/api/v1/tasks",
        &json!({"target_kind": "counterparty", "target_id": account, "title": "+call back",
                "priority": "high"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = make(
        &clm,
        &clm.member,
        "/api/v1/cases",
        &json!({"subject": "-broken login", "account_id": account, "priority": "urgent"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for (collection, header, expected) in [
        (
            "counterparties",
            "id,name,kind,email",
            "\"'=HYPERLINK(\"\"http://evil.example\"\")\",organisation,,,,,\"Retail, Online\"",
        ),
        ("contacts", "id,name,emails,phones", "Ann,,'+1 555 0100,,,"),
        ("leads", "id,name,company,email", "\"Line\nbreak\",'@corp,"),
        (
            "opportunities",
            "id,name,account_id,stage",
            ",prospecting,12.50,EUR,",
        ),
        (
            "invoices",
            "id,number,account_id,contract_id",
            ",INV-2026-0001,",
        ),
        ("tasks", "id,target_kind,target_id,title", ",'+call back,"),
        (
            "cases",
            "id,number,subject,account_id",
            ",1,'-broken login,",
        ),
    ] {
        let path = format!("/api/v1/{collection}/export");
        let response = clm.send(Method::GET, &path, &clm.viewer, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        assert!(text.starts_with(header), "{path}: {text}");
        assert!(text.contains(expected), "{path}: {expected:?} in {text:?}");
    }
    assert_eq!(
        clm.status(Method::GET, "/api/v1/leads/export", "not a token", None)
            .await,
        StatusCode::UNAUTHORIZED
    );
}

/// The ids in a CSV export's first column, header left out.
async fn export(clm: &Clm, path: &str) -> Vec<String> {
    let response = clm.send(Method::GET, path, &clm.viewer, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let text = response.text().await.unwrap();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|record| record.unwrap()[0].to_owned())
        .collect()
}

#[tokio::test]
async fn every_crm_export_holds_what_its_list_shows_with_the_same_filters() {
    let clm = Clm::new().await;
    let mut accounts = Vec::new();
    for (name, industry) in [("Alpha", "Retail"), ("Beta", "Mining")] {
        let (_, id) = make(
            &clm,
            &clm.member,
            "/api/v1/counterparties",
            &json!({"name": name, "industry": industry}),
        )
        .await;
        accounts.push(id);
    }
    for (n, account) in accounts.iter().enumerate() {
        for (path, body) in [
            (
                "/api/v1/contacts",
                json!({"name": format!("Contact {n}"), "account_ids": [account]}),
            ),
            (
                "/api/v1/leads",
                json!({"name": format!("Lead {n}"), "source": (["web", "referral"][n])}),
            ),
            (
                "/api/v1/opportunities",
                json!({"name": format!("Deal {n}"), "account_id": account, "currency": "EUR", "amount": "1"}),
            ),
            (
                "/api/v1/invoices",
                json!({"account_id": account, "currency": "EUR",
                "issue_date": "2026-12-01",
                "lines": [{"description": "x", "quantity": "1", "unit_price": "3"}]}),
            ),
            (
                "/api/v1/tasks",
                json!({"target_kind": "counterparty", "target_id": account,
                "title": format!("Call {n}")}),
            ),
            (
                "/api/v1/cases",
                json!({"subject": format!("Case {n}"), "account_id": account,
                "priority": (["urgent", "low"][n])}),
            ),
        ] {
            let (status, _) = make(&clm, &clm.member, path, &body).await;
            assert_eq!(status, StatusCode::CREATED, "{path} {body}");
        }
    }
    let alpha = &accounts[0];
    for (collection, filters) in [
        ("counterparties", "industry=retail".to_owned()),
        ("contacts", format!("account_id={alpha}")),
        ("leads", "source=web".to_owned()),
        ("opportunities", format!("account_id={alpha}")),
        ("invoices", format!("account_id={alpha}&status=draft")),
        (
            "tasks",
            format!("target_kind=counterparty&target_id={alpha}&status=active"),
        ),
        ("cases", "priority=urgent&status=active".to_owned()),
    ] {
        let (status, listed) = clm
            .json(
                Method::GET,
                &format!("/api/v1/{collection}?{filters}&limit=200"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{collection}?{filters}: {listed}");
        let listed: Vec<String> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect();
        let narrowed = export(&clm, &format!("/api/v1/{collection}/export?{filters}")).await;
        assert_eq!(
            narrowed, listed,
            "{collection}?{filters}: the export and the list differ"
        );
        assert_eq!(narrowed.len(), 1, "{collection}?{filters}: {narrowed:?}");
        assert_eq!(
            export(&clm, &format!("/api/v1/{collection}/export"))
                .await
                .len(),
            2,
            "{collection}: everything"
        );
        for refused in ["limit=1", "cursor=abc", "colour=red"] {
            let path = format!("/api/v1/{collection}/export?{refused}");
            let (status, body) = clm.json(Method::GET, &path, &clm.viewer, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(body["error"], "bad_request", "{path}: {body}");
        }
    }
    let path = "/api/v1/cases/export?status=shelved";
    let (status, body) = clm.json(Method::GET, path, &clm.viewer, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    assert_eq!(body["error"], "invalid_input", "{path}: {body}");
}
