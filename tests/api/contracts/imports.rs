//! CSV import of accounts, contacts, leads and opportunities through the real server: a
//! dry run that reports every row's errors and keeps nothing; an import that is all or
//! nothing; duplicates found by email, company domain or an opportunity's account and
//! name (refused, or skipped when asked); and
//! files that are not CSV, too large, or shaped wrong refused whole.

use super::*;

async fn import(
    clm: &Clm,
    token: &str,
    path: &str,
    content_type: &str,
    csv: &str,
) -> (StatusCode, Value) {
    let response = clm
        .app
        .request(Method::POST, HOST, path)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_dry_run_reports_every_row_and_an_import_is_all_or_nothing() {
    let clm = Clm::new().await;
    let (status, _) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Initech", "website": "https://www.initech.example/about"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Row 3 duplicates an account by its domain, row 5 duplicates row 2, row 4 has a
    // bad email, row 6 a kind that does not exist.
    let accounts = "name,website,email,tags,industry\n\
        Globex,globex.example,,customer;emea,Energy\n\
        Initech Two,http://initech.example,,,\n\
        Hooli,,not-an-email,,\n\
        Globex Again,,sales@globex.example,,\n\
        Umbrella,umbrella.example,,,\n";
    let accounts = accounts.replace(
        "Umbrella,umbrella.example,,,",
        "Umbrella,umbrella.example,,,\nVandelay,,,,",
    );
    let before = clm.snapshot().await;
    let path = "/api/v1/counterparties/import";
    let (status, report) = import(
        &clm,
        &clm.member,
        &format!("{path}?dry_run=true"),
        "text/csv",
        &accounts,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], false);
    assert_eq!(report["rows"], 6);
    let rows = |list: &Value| -> Vec<u64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| e["row"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(rows(&report["errors"]), [3, 4, 5], "{report:#}");
    assert!(report["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("initech.example"));
    assert!(report["errors"][2]["message"]
        .as_str()
        .unwrap()
        .contains("row 2"));
    assert_eq!(rows(&report["created"]), [2, 6, 7]);
    assert_eq!(clm.snapshot().await, before, "a dry run keeps nothing");

    // The real run with errors: refused whole, with the same report.
    let (status, refused) = import(&clm, &clm.member, path, "text/csv", &accounts).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "import_invalid");
    assert_eq!(rows(&refused["details"]["errors"]), [3, 4, 5]);
    assert_eq!(clm.snapshot().await, before, "all or nothing");

    // Skipping duplicates and fixing the bad row: everything else is made.
    let fixed = accounts.replace("not-an-email", "hello@hooli.example");
    let (status, done) = import(
        &clm,
        &clm.member,
        &format!("{path}?skip_duplicates=true"),
        "text/csv; charset=utf-8",
        &fixed,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(rows(&done["skipped"]), [3, 5]);
    assert_eq!(done["created"].as_array().unwrap().len(), 4);
    let (_, globex) = clm
        .json(
            Method::GET,
            &format!(
                "/api/v1/counterparties/{}",
                done["created"][0]["id"].as_str().unwrap()
            ),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(globex["tags"], json!(["customer", "emea"]));
    assert_eq!(globex["industry"], "Energy");
    assert_eq!(
        clm.count(
            "select count(*) from t_acme.audit_logs where event_type = 'counterparty.created'"
        )
        .await,
        5,
        "each imported account is audited and announced as one made by hand"
    );

    // Contacts and leads: duplicates by email, in the file and against the tenant.
    let contacts = "name,emails,phones,title\nBill,bill@initech.example;b@initech.example,+1 555 0100,CTO\nBob,BILL@initech.example,,\n";
    let (_, report) = import(
        &clm,
        &clm.member,
        "/api/v1/contacts/import?dry_run=true",
        "text/csv",
        contacts,
    )
    .await;
    assert_eq!(rows(&report["errors"]), [3], "{report}");
    let leads =
        "name,company,email,score\nAda,Initech,ada@initech.example,40\nEve,,eve@example.com,high\n";
    let (_, report) = import(
        &clm,
        &clm.member,
        "/api/v1/leads/import?dry_run=true",
        "text/csv",
        leads,
    )
    .await;
    assert_eq!(
        rows(&report["errors"]),
        [3],
        "a score must be a number: {report}"
    );
    let (status, made) = import(
        &clm,
        &clm.member,
        "/api/v1/leads/import",
        "text/csv",
        &leads.replace(",high", ",90"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let (_, again) = import(
        &clm,
        &clm.member,
        "/api/v1/leads/import?dry_run=true",
        "text/csv",
        leads,
    )
    .await;
    assert!(
        again["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already held"),
        "{again}"
    );

    // Opportunities: on an existing account, at a stage of the tenant's pipeline; one
    // of the same name at the same account is a duplicate, in the file or already held.
    let account = done["created"][0]["id"].as_str().unwrap();
    let opportunities = format!(
        "name,account_id,stage,amount,currency,expected_close_date,contact_ids\n\
         Renewal 2027,{account},proposal,12000.50,EUR,2027-03-31,\n\
         renewal 2027 ,{account},,1,EUR,,\n\
         Expansion,{account},no-such-stage,5,EUR,,\n\
         Orphan,{},,5,EUR,,\n\
         Upsell,{account},,7,EUR,,{}\n",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    );
    let path = "/api/v1/opportunities/import";
    let before = clm.snapshot().await;
    let (status, refused) = import(&clm, &clm.member, path, "text/csv", &opportunities).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(
        rows(&refused["details"]["errors"]),
        [3, 4, 5, 6],
        "{refused:#}"
    );
    assert!(refused["details"]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("row 2"));
    assert_eq!(clm.snapshot().await, before, "all or nothing");
    let good: String = opportunities
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let (status, made) = import(&clm, &clm.member, path, "text/csv", &good).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let (_, renewal) = clm
        .json(
            Method::GET,
            &format!(
                "/api/v1/opportunities/{}",
                made["created"][0]["id"].as_str().unwrap()
            ),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(
        (
            renewal["stage"].as_str(),
            renewal["amount"].as_str(),
            renewal["expected_close_date"].as_str()
        ),
        (Some("proposal"), Some("12000.50"), Some("2027-03-31")),
        "{renewal}"
    );
    let (_, again) = import(&clm, &clm.member, path, "text/csv", &good).await;
    assert!(
        again["details"]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already held"),
        "{again}"
    );

    // Whole-file refusals: nothing read, nothing written.
    let before = clm.snapshot().await;
    for (content_type, csv, expected) in [
        (
            "application/json",
            "name\nA\n",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("text/csv", "name,colour\nA,red\n", StatusCode::BAD_REQUEST),
        ("text/csv", "email\na@b.example\n", StatusCode::BAD_REQUEST),
        ("text/csv", "name\n", StatusCode::BAD_REQUEST),
        ("text/csv", "", StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) =
            import(&clm, &clm.member, "/api/v1/leads/import", content_type, csv).await;
        assert_eq!(status, expected, "{csv:?} -> {answer}");
    }
    let huge = format!("name\n{}", "x\n".repeat(3 * 1024 * 1024));
    let (status, _) = import(&clm, &clm.member, "/api/v1/leads/import", "text/csv", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let many = format!("name\n{}", "x\n".repeat(5_001));
    let (status, answer) =
        import(&clm, &clm.member, "/api/v1/leads/import", "text/csv", &many).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, _) = import(
        &clm,
        &clm.viewer,
        "/api/v1/leads/import",
        "text/csv",
        "name\nA\n",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(clm.snapshot().await, before);
}
