//! Redaction through the real server: the preview finds each kind of sensitive text
//! (checksums keep lookalikes out), names of the tenant's contacts and its own
//! patterns; applying needs a decision on every finding and the current version, and
//! the copy (text and PDF) no longer holds what was accepted; each copy is audited.

use super::*;

#[tokio::test]
async fn a_contracts_sensitive_text_is_previewed_decided_and_gone_from_the_redacted_copy() {
    let clm = Clm::new().await;

    // The tenant's own pattern: admins add it, and a bad one is refused.
    let patterns = "/api/v1/redaction-patterns";
    let matter = json!({"name": "Matter", "pattern": "MAT-[0-9]{4}"});
    assert_eq!(
        clm.status(Method::POST, patterns, &clm.manager, Some(matter.clone()))
            .await,
        StatusCode::FORBIDDEN
    );
    let (status, added) = clm
        .json(Method::POST, patterns, &clm.admin, Some(matter))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    for (body, expected) in [
        (
            json!({"name": "broken", "pattern": "(unclosed"}),
            "invalid_input",
        ),
        (
            json!({"name": "anything", "pattern": ".*"}),
            "invalid_input",
        ),
        (
            json!({"name": "huge", "pattern": "x".repeat(501)}),
            "invalid_input",
        ),
        (
            json!({"name": "MATTER", "pattern": "M-[0-9]+"}),
            "duplicate",
        ),
    ] {
        let (_, error) = clm
            .json(Method::POST, patterns, &clm.admin, Some(body.clone()))
            .await;
        assert_eq!(error["error"], expected, "{body}: {error}");
    }

    // A contact whose name is found in the text.
    let (_, account) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Nordic Logistics AB"})),
        )
        .await;
    let (status, _) = clm
        .json(
            Method::POST,
            &format!(
                "/api/v1/counterparties/{}/contacts",
                account["id"].as_str().unwrap()
            ),
            &clm.member,
            Some(json!({"name": "Zoë Lindqvist"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let body = "Contact zoë lindqvist at zoe.lindqvist@nordic.example or +46 8 123 456 78. \
                Pay to IBAN GB82 WEST 1234 5698 7654 32 (card 4111 1111 1111 1111; \
                not 4111 1111 1111 1112). Her DNI is 12345678Z. Matter MAT-0042.";
    let contract = clm
        .create(
            &clm.member,
            json!({"title": "Freight terms", "contract_type": "nda", "body": body}),
        )
        .await;
    let id = contract["id"].as_str().unwrap();
    let (status, preview) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts/{id}/redaction-preview"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["version"], 1);
    let findings = preview["findings"].as_array().unwrap();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("name", "zoë lindqvist"),
            ("email", "zoe.lindqvist@nordic.example"),
            ("phone", "+46 8 123 456 78"),
            ("iban", "GB82 WEST 1234 5698 7654 32"),
            ("card_number", "4111 1111 1111 1111"),
            ("national_id", "12345678Z"),
            ("custom", "MAT-0042"),
        ]
    );
    // Positions are in characters: "Contact " is 8.
    assert_eq!(
        (findings[0]["start"].as_u64(), findings[0]["end"].as_u64()),
        (Some(8), Some(21))
    );
    let ids: Vec<String> = findings
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    let phone = ids[2].clone();
    let accepted: Vec<&String> = ids.iter().filter(|i| **i != phone).collect();

    let apply = format!("/api/v1/contracts/{id}/redactions");
    let refusals = [
        (
            json!({"version": 1, "accepted": accepted, "rejected": []}),
            &clm.member,
            StatusCode::BAD_REQUEST,
            "undecided",
        ),
        (
            json!({"version": 1, "accepted": ids, "rejected": ["email-0-1"]}),
            &clm.member,
            StatusCode::BAD_REQUEST,
            "unknown",
        ),
        (
            json!({"version": 1, "accepted": ids, "rejected": [&ids[0]]}),
            &clm.member,
            StatusCode::BAD_REQUEST,
            "twice",
        ),
        (
            json!({"version": 2, "accepted": accepted, "rejected": [&phone]}),
            &clm.member,
            StatusCode::CONFLICT,
            "stale",
        ),
        (
            json!({"version": 1, "accepted": accepted, "rejected": [&phone]}),
            &clm.viewer,
            StatusCode::FORBIDDEN,
            "viewer",
        ),
        (
            json!({"version": 1, "accepted": accepted, "rejected": [&phone]}),
            &clm.other_member,
            StatusCode::FORBIDDEN,
            "not the owner",
        ),
    ];
    for (request, who, expected, why) in refusals {
        let (status, error) = clm.json(Method::POST, &apply, who, Some(request)).await;
        assert_eq!(status, expected, "{why}: {error}");
    }
    let (status, copy) = clm
        .json(
            Method::POST,
            &apply,
            &clm.member,
            Some(json!({"version": 1, "accepted": accepted, "rejected": [&phone]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    let text = copy["body"].as_str().unwrap();
    for gone in [
        "zoë",
        "zoe.lindqvist",
        "GB82",
        "4111 1111 1111 1111",
        "12345678Z",
        "MAT-0042",
    ] {
        assert!(!text.contains(gone), "{gone} is gone: {text}");
    }
    assert!(
        text.contains("+46 8 123 456 78"),
        "the rejected finding stays"
    );
    assert!(
        text.contains("4111 1111 1111 1112"),
        "a lookalike was never found"
    );
    assert!(
        text.starts_with("Contact [redacted: name] at [redacted: email]"),
        "{text}"
    );
    assert_eq!(copy["kept"], 1);
    assert_eq!(copy["redacted"].as_array().unwrap().len(), 6);
    assert!(
        !copy["redacted"].to_string().contains("zoe"),
        "the copy records where, never what"
    );

    // The PDF is made from the redacted text: the removed text is not in the file.
    let copy_id = copy["id"].as_str().unwrap();
    let response = clm
        .send(
            Method::GET,
            &format!("/api/v1/redactions/{copy_id}/pdf"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = response.bytes().await.unwrap();
    let printed = pdf_extract::extract_text_from_mem(&pdf).unwrap();
    let printed = printed.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(printed.contains("[redacted: email]"), "{printed}");
    assert!(
        !printed.contains("lindqvist") && !printed.contains("GB82"),
        "{printed}"
    );

    // Listed with its contract, read by id, audited.
    let (_, listed) = clm.json(Method::GET, &apply, &clm.viewer, None).await;
    assert_eq!(listed["items"][0]["id"], copy["id"]);
    let (status, read) = clm
        .json(
            Method::GET,
            &format!("/api/v1/redactions/{copy_id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!((status, &read["body"]), (StatusCode::OK, &copy["body"]));
    let audited: i64 = clm
        .db
        .client()
        .await
        .query_one(
            "select count(*) from t_acme.audit_logs where entity = 'contract_redaction' and entity_id = $1",
            &[&copy_id.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);
    // The contract itself is unchanged.
    let (_, after) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts/{id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(after["body"], body);
}
