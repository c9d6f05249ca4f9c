//! Counterparties as the CRM's accounts (industry, addresses, owner, tags, a parent
//! account) and contacts that stand on their own, with several emails and phones, at
//! several accounts.

use super::*;

async fn me(clm: &Clm, token: &str) -> String {
    let (_, me) = clm.json(Method::GET, "/api/v1/auth/me", token, None).await;
    me["id"].as_str().unwrap().to_owned()
}

async fn account(clm: &Clm, token: &str, body: Value) -> Value {
    let (status, created) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            token,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body} -> {created}");
    created
}

/// The names of the accounts `GET /api/v1/counterparties?<query>` lists.
async fn account_names(clm: &Clm, query: &str) -> Vec<String> {
    let (status, page) = clm
        .json(
            Method::GET,
            &format!("/api/v1/counterparties?{query}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn accounts_keep_crm_fields_their_owner_edits_them_and_their_tree_stays_a_tree() {
    let clm = Clm::new().await;
    let member = me(&clm, &clm.member).await;
    let other_member = me(&clm, &clm.other_member).await;
    let group = account(
        &clm,
        &clm.member,
        json!({"name": "Globex Group", "industry": "Manufacturing", "tags": ["Key", "emea"],
               "billing_address": "1 Main St", "shipping_address": "Dock 4"}),
    )
    .await;
    assert_eq!(group["owner_id"], member.as_str(), "the creator owns it");
    assert_eq!(group["tags"], json!(["emea", "key"]), "tags normalised");
    assert_eq!(group["shipping_address"], "Dock 4");
    let group_id = group["id"].as_str().unwrap().to_owned();
    let subsidiary = account(
        &clm,
        &clm.manager,
        json!({"name": "Globex Nordics", "parent_id": group_id, "owner_id": other_member,
               "industry": "manufacturing"}),
    )
    .await;
    let sub_id = subsidiary["id"].as_str().unwrap().to_owned();
    let grandchild = account(
        &clm,
        &clm.manager,
        json!({"name": "Globex Sweden", "parent_id": sub_id}),
    )
    .await;
    let grandchild_id = grandchild["id"].as_str().unwrap().to_owned();
    account(
        &clm,
        &clm.member,
        json!({"name": "Initech", "tags": ["smb"]}),
    )
    .await;

    assert_eq!(account_names(&clm, "tag=KEY").await, ["Globex Group"]);
    assert_eq!(
        account_names(&clm, "industry=MANUFACTURING").await,
        ["Globex Group", "Globex Nordics"]
    );
    assert_eq!(
        account_names(&clm, &format!("parent_id={group_id}")).await,
        ["Globex Nordics"]
    );
    assert_eq!(
        account_names(&clm, &format!("owner_id={other_member}")).await,
        ["Globex Nordics"]
    );

    // The tree stays a tree: no account is its own ancestor.
    let before = clm.snapshot().await;
    for (account, parent) in [
        (&group_id, &group_id),
        (&group_id, &sub_id),
        (&group_id, &grandchild_id),
    ] {
        let (status, body) = clm
            .json(
                Method::PATCH,
                &format!("/api/v1/counterparties/{account}"),
                &clm.manager,
                Some(json!({"parent_id": parent})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].as_str().unwrap().contains("parent_id"));
    }
    // Unknown references and the old field name are refused too, writing nothing.
    for body in [
        json!({"parent_id": uuid::Uuid::new_v4()}),
        json!({"owner_id": uuid::Uuid::new_v4()}),
        json!({"address": "renamed: billing_address"}),
        json!({"tags": ["ok", "!bad"]}),
    ] {
        let (status, answer) = clm
            .json(
                Method::PATCH,
                &format!("/api/v1/counterparties/{sub_id}"),
                &clm.manager,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    assert_eq!(clm.snapshot().await, before, "refusals wrote nothing");

    // The owner edits the account; another member does not, until it is theirs.
    let path = format!("/api/v1/counterparties/{group_id}");
    let edit = json!({"website": "https://globex.example"});
    assert_eq!(
        clm.status(Method::PATCH, &path, &clm.other_member, Some(edit.clone()))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.status(Method::PATCH, &path, &clm.member, Some(edit.clone()))
            .await,
        StatusCode::OK
    );
    let (status, handed) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"owner_id": other_member})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{handed}");
    assert_eq!(
        clm.status(Method::PATCH, &path, &clm.other_member, Some(edit))
            .await,
        StatusCode::OK
    );
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.viewer,
            Some(json!({"notes": "x"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // Deleting the parent leaves its subsidiary at the top of the tree.
    assert_eq!(
        clm.status(Method::DELETE, &path, &clm.manager, None).await,
        StatusCode::NO_CONTENT
    );
    let (_, sub) = clm
        .json(
            Method::GET,
            &format!("/api/v1/counterparties/{sub_id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert!(sub["parent_id"].is_null(), "{sub}");
}

async fn under(clm: &Clm, child: &str, parent: &str) -> StatusCode {
    clm.status(
        Method::PATCH,
        &format!("/api/v1/counterparties/{child}"),
        &clm.manager,
        Some(json!({"parent_id": parent})),
    )
    .await
}

async fn list(clm: &Clm, query: &str) -> Value {
    let (status, page) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contacts?{query}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page
}

#[tokio::test]
async fn two_accounts_made_each_others_parent_at_once_never_form_a_cycle() {
    let clm = Clm::new().await;
    let mut pairs = Vec::new();
    for n in 0..20 {
        let a = account(&clm, &clm.manager, json!({"name": format!("A{n}")})).await;
        let b = account(&clm, &clm.manager, json!({"name": format!("B{n}")})).await;
        pairs.push((
            a["id"].as_str().unwrap().to_owned(),
            b["id"].as_str().unwrap().to_owned(),
        ));
    }
    // Every pair at once, each of its two in both orders, so the checks overlap.
    let outcomes = futures::future::join_all(pairs.iter().map(|(a, b)| async {
        let (first, second) = tokio::join!(under(&clm, a, b), under(&clm, b, a));
        let mut both = [first, second];
        both.sort();
        both
    }))
    .await;
    for (n, both) in outcomes.iter().enumerate() {
        assert_eq!(
            both,
            &[StatusCode::OK, StatusCode::BAD_REQUEST],
            "pair {n}: exactly one of the two may stand"
        );
    }
    assert_eq!(
        clm.count(
            "select count(*) from t_acme.counterparties c \
             join t_acme.counterparties p on p.id = c.parent_id where p.parent_id = c.id"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn contacts_have_several_emails_and_phones_and_belong_to_several_accounts() {
    let clm = Clm::new().await;
    let globex = account(&clm, &clm.member, json!({"name": "Globex"})).await;
    let initech = account(&clm, &clm.member, json!({"name": "Initech"})).await;
    let (globex, initech) = (
        globex["id"].as_str().unwrap().to_owned(),
        initech["id"].as_str().unwrap().to_owned(),
    );
    let (status, hank) = clm
        .json(
            Method::POST,
            "/api/v1/contacts",
            &clm.member,
            Some(json!({
                "name": "Hank Scorpio", "role": "decision maker", "title": "CEO",
                "emails": ["Hank@Globex.example", "hank@globex.example", "h.scorpio@home.example"],
                "phones": ["+1 (555) 010-2000", "555 0101 x12"],
                "account_ids": [globex, initech]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hank}");
    assert_eq!(
        hank["emails"],
        json!(["Hank@globex.example", "h.scorpio@home.example"]),
        "domains lower-cased, without the duplicate (case aside)"
    );
    assert_eq!(hank["phones"].as_array().unwrap().len(), 2);
    assert_eq!(hank["account_ids"].as_array().unwrap().len(), 2);
    let hank_id = hank["id"].as_str().unwrap().to_owned();
    // The old route still adds a contact at its account.
    let (status, lumbergh) = clm
        .json(
            Method::POST,
            &format!("/api/v1/counterparties/{initech}/contacts"),
            &clm.member,
            Some(json!({"name": "Bill Lumbergh", "emails": ["bill@initech.example"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lumbergh}");
    assert_eq!(lumbergh["account_ids"], json!([initech]));

    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&list(&clm, &format!("account_id={initech}")).await),
        ["Bill Lumbergh", "Hank Scorpio"]
    );
    assert_eq!(names(&list(&clm, "q=SCORPIO@HOME").await), ["Hank Scorpio"]);
    let (_, account) = clm
        .json(
            Method::GET,
            &format!("/api/v1/counterparties/{globex}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(account["contacts"][0]["name"], "Hank Scorpio");

    // Hostile or wrong input is refused with nothing written.
    let before = clm.snapshot().await;
    for body in [
        json!({"name": "X", "emails": ["not an email"]}),
        json!({"name": "X", "phones": ["call me"]}),
        json!({"name": "X", "phones": ["12"]}),
        json!({"name": "X", "emails": (0..11).map(|i| format!("a{i}@x.example")).collect::<Vec<_>>()}),
        json!({"name": "X", "account_ids": [uuid::Uuid::new_v4()]}),
        json!({"name": "X", "email": "singular@x.example"}),
        json!({"name": "X", "role": "r".repeat(101)}),
        json!(["X"]),
    ] {
        let (status, answer) = clm
            .json(
                Method::POST,
                "/api/v1/contacts",
                &clm.member,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    assert_eq!(
        clm.status(
            Method::POST,
            "/api/v1/contacts",
            &clm.viewer,
            Some(json!({"name": "X"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let path = format!("/api/v1/contacts/{hank_id}");
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"role": "champion"}))
        )
        .await,
        StatusCode::FORBIDDEN,
        "another member does not edit it"
    );
    assert_eq!(
        clm.status(Method::DELETE, &path, &clm.other_member, None)
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(clm.snapshot().await, before, "refusals wrote nothing");

    // A list given replaces the old one; null clears.
    let (status, moved) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"account_ids": [globex], "title": null, "phones": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["account_ids"], json!([globex]));
    assert!(moved["title"].is_null());
    assert_eq!(moved["phones"], json!([]));
    assert_eq!(
        names(&list(&clm, &format!("account_id={initech}")).await),
        ["Bill Lumbergh"]
    );
    // Deleting an account unlinks its contacts and keeps them.
    assert_eq!(
        clm.status(
            Method::DELETE,
            &format!("/api/v1/counterparties/{initech}"),
            &clm.manager,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (status, bill) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contacts/{}", lumbergh["id"].as_str().unwrap()),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bill["account_ids"], json!([]));
    // Every change is an event, for webhooks and the notifier.
    let events = clm
        .app
        .settled_events(HOST, &clm.admin, "/api/v1/events?type=contact.*", 3)
        .await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["contact.created", "contact.created", "contact.updated"]
    );
}
