//! An import looks up each row's keys (its duplicates, the records it names) as it
//! reads the row, so every lookup must reach its records through an index: by a
//! condition no index could serve (an account's two domains joined by `or`, a
//! correlated `exists` lowering every address of every contact) each row read the
//! whole table: 55 ms a row against 100,000 accounts or contacts, some 280 s for a
//! full file of 5,000 (`scripts/bench-imports.sh`).

use pactum::imports::model::ImportKind;
use pactum::imports::references::references;
use pactum::imports::service::duplicates_sql;

use super::imports::{import, rows};
use super::*;

const RECORDS: usize = 20_000;

/// The plan PostgreSQL makes for `sql` in the tenant's schema with `keys` keys (an
/// opportunity's: an account's id, a space and a name).
async fn plan(client: &tokio_postgres::Client, sql: &str, keys: usize) -> String {
    let keys: Vec<String> = (0..keys)
        .map(|i| format!("{} key{i}@example.com", uuid::Uuid::new_v4()))
        .collect();
    let quoted: Vec<String> = keys.iter().map(|key| format!("\"{key}\"")).collect();
    crate::support::prepared_plan(
        client,
        "set search_path to t_acme;",
        sql,
        &format!("'{{{}}}'", quoted.join(",")),
        "reset search_path",
    )
    .await
}

#[tokio::test]
async fn an_imports_lookups_reach_their_records_through_an_index() {
    let clm = Clm::new().await;
    let client = clm.db.client().await;
    // Half the accounts with a website, one with an email: the others' domains are
    // empty, which must not make the planner expect every account for a key.
    client
        .batch_execute(&format!(
            "insert into t_acme.counterparties (name, website, email) \
                 select 'Firm ' || i, \
                        case when i % 2 = 0 then 'https://www.firm' || i || '.example/about' end, \
                        case when i = 1 then 'info@firm' || i || '.example' end \
                 from generate_series(1, {RECORDS}) i;
             insert into t_acme.contacts (name, emails, email_keys) \
                 select 'Person ' || i, array['Person' || i || '@example.com'], \
                        array['person' || i || '@example.com'] \
                 from generate_series(1, {RECORDS}) i;
             insert into t_acme.leads (name, email) \
                 select 'Lead ' || i, 'lead' || i || '@example.com' \
                 from generate_series(1, {RECORDS}) i;
             insert into t_acme.users (email, display_name) \
                 select 'user' || i || '@example.com', 'User ' || i \
                 from generate_series(1, {RECORDS}) i;
             insert into t_acme.opportunities (name, account_id, stage, currency) \
                 select 'Deal', c.id, (select min(key) from t_acme.pipeline_stages), 'EUR' \
                 from t_acme.counterparties c;
             analyze t_acme.counterparties; analyze t_acme.contacts; analyze t_acme.leads;
             analyze t_acme.opportunities; analyze t_acme.users;"
        ))
        .await
        .unwrap();

    let kinds = [
        ImportKind::Accounts,
        ImportKind::Contacts,
        ImportKind::Leads,
        ImportKind::Opportunities,
    ];
    let mut statements: Vec<(String, &str, usize)> = kinds
        .iter()
        .map(|kind| (format!("{kind:?} duplicates"), duplicates_sql(*kind), 2))
        .collect();
    for kind in kinds {
        for reference in references(kind) {
            statements.push((
                format!("{kind:?} {}", reference.column),
                reference.lookup_sql(),
                3,
            ));
        }
    }
    // A row's keys: a contact's two addresses, three names in a cell. (At a cell's
    // most, 100 names, reading the whole of a small table can be the better plan.)
    for (name, sql, keys) in statements {
        let plan = plan(&client, sql, keys).await;
        // Every record read, or a subquery run for each.
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("SubPlan"),
            "{name} reads more than its keys' records:\n{plan}"
        );
    }
}

/// Addresses are matched case aside through the keys kept beside them: a contact made
/// through the API is a file's duplicate whatever case either writes, and a changed
/// address changes the keys with it.
#[tokio::test]
async fn contacts_are_found_by_any_address_case_aside() {
    let clm = Clm::new().await;
    let (status, contact) = clm
        .json(
            Method::POST,
            "/api/v1/contacts",
            &clm.member,
            Some(json!({"name": "Ann Lee", "emails": ["x@other.example", "Ann.Lee@Example.COM"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let (status, report) = import(
        &clm,
        &clm.member,
        "/api/v1/contacts/import?dry_run=true",
        "text/csv",
        "name,emails\nAnn,ANN.LEE@example.com\nBob,bob@example.com\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(rows(&report["errors"]), [2], "{report}");

    // A new address replaces the keys with the addresses.
    let (status, _) = clm
        .json(
            Method::PATCH,
            &format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
            &clm.member,
            Some(json!({"emails": ["Ann@New.example"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<String> = clm
        .db
        .client()
        .await
        .query_one("select email_keys from t_acme.contacts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, ["ann@new.example"]);
    let (_, report) = import(
        &clm,
        &clm.member,
        "/api/v1/contacts/import?dry_run=true",
        "text/csv",
        "name,emails\nAnn,ann.lee@example.com\nAnn,ANN@new.EXAMPLE\n",
    )
    .await;
    assert_eq!(rows(&report["errors"]), [3], "{report}");
}

/// Names and addresses with capitals beyond ASCII match case aside as ASCII ones do:
/// the server lower-cases what it looks up as Unicode does, and PostgreSQL must fold
/// the stored side the same way. In a database whose `LC_CTYPE` is `C` (as
/// `scripts/pg.sh` made them) `lower('ÖBB')` is `Öbb`, so an account could not be named
/// by its own name, re-imported records were not found as duplicates, and a search
/// for "öbb" found nothing.
#[tokio::test]
async fn names_and_addresses_beyond_ascii_match_case_aside() {
    let clm = Clm::new().await;
    let folding: Option<String> =
        pactum::tenancy::pool::ascii_only_case_folding(&clm.db.client().await)
            .await
            .unwrap();
    assert_eq!(folding, None, "the test database folds case for ASCII only");
    let create = async |path: &str, body: Value| {
        let (status, made) = clm.json(Method::POST, path, &clm.member, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        made
    };
    let account = create(
        "/api/v1/counterparties",
        json!({"name": "ÖBB Infrastruktur", "website": "https://www.ÖBB.at"}),
    )
    .await;
    // The dotted capital I, which Rust's own lowercasing turns into two letters.
    create(
        "/api/v1/counterparties",
        json!({"name": "İstanbul Lojistik"}),
    )
    .await;
    create(
        "/api/v1/contacts",
        json!({"name": "Émile", "emails": ["ÉMILE@Exemple.fr"]}),
    )
    .await;
    create(
        "/api/v1/leads",
        json!({"name": "José", "email": "JOSÉ@Ejemplo.es"}),
    )
    .await;
    create(
        "/api/v1/opportunities",
        json!({"name": "Ausschreibung ÖPNV", "account_id": account["id"], "currency": "EUR"}),
    )
    .await;

    let dry_run = async |kind: &str, csv: &str| {
        let path = format!("/api/v1/{kind}/import?dry_run=true");
        let (status, report) = import(&clm, &clm.member, &path, "text/csv", csv).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {report}");
        report
    };
    let accounts = dry_run("counterparties", "name,website\nÖBB,öbb.at\n").await;
    assert_eq!(rows(&accounts["errors"]), [2], "{accounts}");
    let contacts = dry_run(
        "contacts",
        "name,emails,accounts\nÉmile,émile@exemple.fr,\n\
         Fritz,fritz@example.at,öbb infrastruktur;İstanbul Lojistik\n",
    )
    .await;
    assert_eq!(rows(&contacts["errors"]), [2], "{contacts}");
    let leads = dry_run("leads", "name,email\nJosé,josé@ejemplo.es\n").await;
    assert_eq!(rows(&leads["errors"]), [2], "{leads}");
    let opportunities = dry_run(
        "opportunities",
        "name,account,currency\nausschreibung öpnv,ÖBB INFRASTRUKTUR,EUR\n",
    )
    .await;
    assert_eq!(rows(&opportunities["errors"]), [2], "{opportunities}");
    assert!(
        opportunities["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already"),
        "{opportunities}"
    );

    let (status, found) = clm
        .json(
            Method::GET,
            "/api/v1/search?q=%C3%B6bb&types=account",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
}

/// A database that folds case for ASCII only is told apart (the server warns of it at
/// start-up), and one classified as Unicode is not.
#[tokio::test]
async fn a_database_folding_case_for_ascii_only_is_told_apart() {
    for (lc_ctype, expected) in [("C", Some("C")), ("C.UTF-8", None)] {
        let db = crate::support::TestDb::with_ctype(lc_ctype).await;
        let folding = pactum::tenancy::pool::ascii_only_case_folding(&db.client().await)
            .await
            .unwrap();
        assert_eq!(folding.as_deref(), expected, "{lc_ctype}");
    }
}
