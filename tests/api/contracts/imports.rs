//! CSV import of accounts, contacts, leads and opportunities through the real server: a
//! dry run that reports every row's errors and keeps nothing; an import that is all or
//! nothing; duplicates found by email, company domain or an opportunity's account and
//! name (refused, or skipped when asked); records named by name or email where the
//! body takes an id, one made on a row above among them; and files that are not CSV,
//! too large, or shaped wrong refused whole.

use super::*;

pub(super) async fn import(
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

/// The rows a report's list names.
pub(super) fn rows(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect()
}

/// A file's header and its first row.
fn header_and_first_row(csv: &str) -> String {
    csv.lines().take(2).map(|l| format!("{l}\n")).collect()
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
    let good = header_and_first_row(&opportunities);
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

#[tokio::test]
async fn a_row_names_accounts_users_and_contacts_as_a_spreadsheet_does() {
    let clm = Clm::new().await;
    let message =
        |report: &Value, i: usize| report["errors"][i]["message"].as_str().unwrap().to_owned();
    // A parent named on a row above, an owner by email (case aside).
    let accounts = "name,parent,owner\n\
        Globex Holdings,,\n\
        Globex Energy, globex holdings ,MANAGER@example.com\n";
    let (status, made) = import(
        &clm,
        &clm.member,
        "/api/v1/counterparties/import",
        "text/csv",
        accounts,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = |report: &Value, i: usize| report["created"][i]["id"].as_str().unwrap().to_owned();
    let holdings = id(&made, 0);
    let energy = id(&made, 1);
    let (_, view) = clm
        .json(
            Method::GET,
            &format!("/api/v1/counterparties/{energy}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(view["parent_id"], holdings.as_str(), "{view}");
    let manager = clm
        .count("select count(*) from t_acme.users where email = 'manager@example.com'")
        .await;
    assert_eq!(manager, 1);
    let owner: String = clm
        .db
        .client()
        .await
        .query_one(
            "select u.email from t_acme.counterparties c join t_acme.users u on u.id = c.owner_id \
             where c.id = $1::text::uuid",
            &[&energy],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, "manager@example.com");

    // Contacts at accounts named by name; opportunities on an account by name, with
    // their contacts by email. Two contacts share an address: naming it is ambiguous.
    for name in ["Twin One", "Twin Two"] {
        let (status, _) = clm
            .json(
                Method::POST,
                "/api/v1/contacts",
                &clm.member,
                Some(json!({"name": name, "emails": ["twins@globex.example"]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let contacts = "name,emails,accounts\nBill,bill@globex.example,Globex Energy;globex holdings\n";
    let (status, made) = import(
        &clm,
        &clm.member,
        "/api/v1/contacts/import",
        "text/csv",
        contacts,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let (_, bill) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contacts/{}", id(&made, 0)),
            &clm.viewer,
            None,
        )
        .await;
    let mut at: Vec<&str> = bill["account_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    at.sort();
    let mut expected = [holdings.as_str(), energy.as_str()];
    expected.sort();
    assert_eq!(at, expected, "{bill}");
    let opportunities = "name,account,owner,contacts,currency,amount\n\
        Supply deal,Globex Energy,member@example.com,BILL@globex.example,EUR,10\n\
        supply deal ,globex energy,,,EUR,10\n\
        Lost deal,Nobody Inc,,,EUR,1\n\
        Twin deal,Globex Energy,,twins@globex.example,EUR,1\n\
        Both,Globex Energy,,,EUR,1\n\
        Ghost,Globex Energy,ghost@example.com,,EUR,1\n\
        Stranger,Globex Energy,,stranger@example.com,EUR,1\n";
    let opportunities = opportunities.replace(
        "Both,Globex Energy,,,EUR,1",
        &format!("Both,Globex Energy,,,EUR,1,{holdings}"),
    );
    let opportunities = opportunities.replacen(
        "name,account,owner,contacts,currency,amount",
        "name,account,owner,contacts,currency,amount,account_id",
        1,
    );
    let opportunities: String = opportunities
        .lines()
        .map(|line| {
            if line.starts_with("Both") || line.starts_with("name") {
                format!("{line}\n")
            } else {
                format!("{line},\n")
            }
        })
        .collect();
    let before = clm.snapshot().await;
    let path = "/api/v1/opportunities/import";
    let (status, refused) = import(&clm, &clm.member, path, "text/csv", &opportunities).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let report = &refused["details"];
    assert_eq!(rows(&report["errors"]), [3, 4, 5, 6, 7, 8], "{report:#}");
    for (i, expected) in [
        "row 2",
        "account: no account named \"Nobody Inc\"",
        "contacts: 2 contacts match \"twins@globex.example\"; name it by id in contact_ids",
        "give account or account_id, not both",
        "owner: no user with the email \"ghost@example.com\"",
        "contacts: no contact with the email \"stranger@example.com\"",
    ]
    .into_iter()
    .enumerate()
    {
        assert!(message(report, i).contains(expected), "{i}: {report:#}");
    }
    assert_eq!(clm.snapshot().await, before, "all or nothing");
    let good = header_and_first_row(&opportunities);
    let (status, made) = import(&clm, &clm.member, path, "text/csv", &good).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let (_, deal) = clm
        .json(
            Method::GET,
            &format!("/api/v1/opportunities/{}", id(&made, 0)),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(deal["account_id"], energy.as_str(), "{deal}");
    assert_eq!(deal["contact_ids"], json!([bill["id"]]), "{deal}");

    // A cell naming too many records is the row's error, read no further.
    let many = format!(
        "name,accounts\nCrowd,{}\n",
        vec!["Globex Energy"; 101].join(";")
    );
    let (_, report) = import(
        &clm,
        &clm.member,
        "/api/v1/contacts/import?dry_run=true",
        "text/csv",
        &many,
    )
    .await;
    assert!(message(&report, 0).contains("at most 100"), "{report}");

    // A NUL in a cell that is looked up (a name, a duplicate key) is the row's error,
    // never a query PostgreSQL refuses.
    for (path, csv) in [
        (
            "/api/v1/contacts/import",
            "name,accounts\nNul,Globex\u{0}Energy\n",
        ),
        (
            "/api/v1/leads/import",
            "name,email\nNul,nul\u{0}@globex.example\n",
        ),
        (
            "/api/v1/opportunities/import",
            "name,account,currency\nNul,Globex Energy,EUR\u{1}\n",
        ),
    ] {
        let (status, refused) = import(&clm, &clm.member, path, "text/csv", csv).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {refused}");
        assert!(
            message(&refused["details"], 0).contains("control character"),
            "{path}: {refused}"
        );
    }
}
