//! Lists by name or title sort as people read them, whatever the database's collation:
//! under `C`, the project's clusters' collation, "Österreichische Post" came after
//! "Zürich Versicherung" and "Éclair SA" after "Zeta Ltd". Each list is read page by
//! page, two names a page, so the keyset bound between pages sorts as the list does.

use super::*;

/// Names in the order a reader expects them, case and accents aside.
const IN_ORDER: [&str; 7] = [
    "apple GmbH",
    "Banana AG",
    "Éclair SA",
    "Oslo Kommune",
    "Österreichische Post",
    "Zeta Ltd",
    "Zürich Versicherung",
];

/// The same names, in no order.
fn shuffled() -> [&'static str; 7] {
    let [a, b, c, d, e, f, g] = IN_ORDER;
    [g, c, e, a, f, d, b]
}

/// `field` of every item `path` lists, page after page of two.
async fn read_all(clm: &Clm, path: &str, field: &str) -> Vec<String> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let next = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let (status, page) = clm
            .json(
                Method::GET,
                &format!("{path}{separator}limit=2{next}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        for item in page["items"].as_array().unwrap() {
            names.push(item[field].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return names,
        }
    }
    panic!("{path}: more pages than names");
}

async fn created(clm: &Clm, path: &str, token: &str, body: Value) -> Value {
    let (status, created) = clm
        .json(Method::POST, path, token, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{path} {body} -> {created}");
    created
}

#[tokio::test]
async fn names_and_titles_sort_as_people_read_them_page_after_page() {
    let clm = Clm::new().await;
    let mut account = Value::Null;
    for name in shuffled() {
        account = created(
            &clm,
            "/api/v1/counterparties",
            &clm.member,
            json!({"name": name}),
        )
        .await;
        created(&clm, "/api/v1/contacts", &clm.member, json!({"name": name})).await;
        created(
            &clm,
            "/api/v1/clauses",
            &clm.member,
            json!({"title": name, "category": "payment", "body": "Net 30."}),
        )
        .await;
        created(
            &clm,
            "/api/v1/templates",
            &clm.manager,
            json!({"name": name, "contract_type": "nda", "body": "Between {{party}}."}),
        )
        .await;
        clm.create(
            &clm.member,
            json!({"title": name, "contract_type": "nda", "body": "Text"}),
        )
        .await;
    }
    let account = account["id"].as_str().unwrap();
    for name in shuffled() {
        created(
            &clm,
            "/api/v1/opportunities",
            &clm.member,
            json!({"name": name, "account_id": account, "currency": "EUR", "amount": "10"}),
        )
        .await;
    }

    let in_order: Vec<String> = IN_ORDER.iter().map(|n| n.to_string()).collect();
    for (path, field) in [
        ("/api/v1/counterparties", "name"),
        ("/api/v1/contacts", "name"),
        ("/api/v1/opportunities", "name"),
        (
            &*format!("/api/v1/opportunities?account_id={account}"),
            "name",
        ),
        ("/api/v1/templates", "name"),
        ("/api/v1/clauses", "title"),
        ("/api/v1/clauses?category=payment", "title"),
        ("/api/v1/contracts?sort=title", "title"),
    ] {
        assert_eq!(read_all(&clm, path, field).await, in_order, "{path}");
    }
    let mut backwards = in_order.clone();
    backwards.reverse();
    assert_eq!(
        read_all(&clm, "/api/v1/contracts?sort=-title", "title").await,
        backwards
    );
}
