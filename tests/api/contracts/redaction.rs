//! Redaction through the real server: the preview finds each kind of sensitive text
//! (checksums keep lookalikes out), names of the tenant's contacts and its own
//! patterns; applying needs a decision on every finding and the current version, and
//! the copy (text and PDF) no longer holds what was accepted; each copy is audited.
//! Once a copy restricts the original, readers below the tenant's role read the copy
//! wherever the original's text would show (contract, versions, PDF, search) and are
//! refused its files.

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
    // The contract itself is unchanged: its owner still reads the original.
    let (_, after) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts/{id}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(after["body"], body);
}

/// The admin's tenant pattern for codenames ("Project Zebrafish").
pub(super) async fn codename_pattern(clm: &Clm) {
    let (status, _) = clm
        .json(
            Method::POST,
            "/api/v1/redaction-patterns",
            &clm.admin,
            Some(json!({"name": "Codename", "pattern": "Project [A-Z][a-z]+"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// Reads `path` as `token`: the status and the JSON body.
pub(super) async fn read(clm: &Clm, token: &str, path: &str) -> (StatusCode, Value) {
    clm.json(Method::GET, path, token, None).await
}

/// The ids the contract search finds for `q` as `token`.
async fn found_by(clm: &Clm, token: &str, q: &str) -> Vec<String> {
    let (status, page) = read(clm, token, &format!("/api/v1/contracts?q={q}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The owner's redacted copy of `contract` at `version` with its first finding
/// accepted (and any other rejected), restricting the original or not.
pub(super) async fn redact_first_finding(
    clm: &Clm,
    contract: &str,
    version: i64,
    restrict: bool,
) -> Value {
    let path = format!("/api/v1/contracts/{contract}/redaction-preview");
    let (_, preview) = read(clm, &clm.member, &path).await;
    let ids: Vec<&str> = preview["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let (status, copy) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/redactions"),
            &clm.member,
            Some(
                json!({"version": version, "accepted": &ids[..1], "rejected": &ids[1..],
                        "restrict_original": restrict}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    copy
}

/// The text of a PDF, its whitespace folded.
fn pdf_text(pdf: &[u8]) -> String {
    let printed = pdf_extract::extract_text_from_mem(pdf).unwrap();
    printed.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_redacted_contracts_original_is_kept_from_readers_below_the_tenants_role() {
    let clm = Clm::new().await;
    codename_pattern(&clm).await;
    let body = "Project Zebrafish ships under the tapir clause.";
    let contract = clm
        .create(
            &clm.member,
            json!({"title": "Shipping terms", "contract_type": "nda", "body": body}),
        )
        .await;
    let id = contract["id"].as_str().unwrap().to_owned();
    assert_eq!(contract["original_restricted"], false);
    let file = super::reading::attach(
        &clm,
        &id,
        "notes.txt",
        "text/plain",
        b"The quokka annex".to_vec(),
    )
    .await;
    assert_eq!(
        super::reading::read_text(&clm, &file).await["state"],
        "extracted"
    );
    let readers = [&clm.viewer, &clm.other_member];
    for reader in readers {
        assert_eq!(found_by(&clm, reader, "zebrafish").await, [id.as_str()]);
        assert_eq!(found_by(&clm, reader, "quokka").await, [id.as_str()]);
    }

    // Redacted, restricting the original (the default).
    let contract_path = format!("/api/v1/contracts/{id}");
    let preview_path = format!("/api/v1/contracts/{id}/redaction-preview");
    let copy = redact_first_finding(&clm, &id, 1, true).await;
    let copy_id = copy["id"].as_str().unwrap().to_owned();
    let copy_text = copy["body"].as_str().unwrap().to_owned();
    assert!(
        copy_text.starts_with("[redacted: custom] ships"),
        "{copy_text}"
    );

    // The owner and the manager read the original; the others the copy, everywhere.
    for reader in [&clm.member, &clm.manager, &clm.admin] {
        let (_, seen) = read(&clm, reader, &contract_path).await;
        assert_eq!(seen["body"], body);
        assert_eq!(seen["body_redaction_id"], Value::Null);
        assert_eq!(seen["original_restricted"], true);
        assert_eq!(found_by(&clm, reader, "zebrafish").await, [id.as_str()]);
    }
    for reader in readers {
        let (status, seen) = read(&clm, reader, &contract_path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seen["body"], copy_text.as_str());
        assert_eq!(seen["body_redaction_id"], copy_id.as_str());
        let (_, version) = read(&clm, reader, &format!("{contract_path}/versions/1")).await;
        assert_eq!(version["body"], copy_text.as_str(), "the copy's version");
        let pdf = clm
            .send(Method::GET, &format!("{contract_path}/pdf"), reader, None)
            .await;
        assert_eq!(pdf.status(), StatusCode::OK);
        let printed = pdf_text(&pdf.bytes().await.unwrap());
        assert!(printed.contains("Terms (redacted)"), "{printed}");
        assert!(!printed.contains("Zebrafish"), "{printed}");
        // The original's words no longer find it; the copy's and the title's do.
        assert!(found_by(&clm, reader, "zebrafish").await.is_empty());
        assert!(found_by(&clm, reader, "quokka").await.is_empty());
        assert_eq!(found_by(&clm, reader, "tapir").await, [id.as_str()]);
        assert_eq!(found_by(&clm, reader, "shipping").await, [id.as_str()]);
        let (_, facets) = read(&clm, reader, "/api/v1/contracts/facets?q=zebrafish").await;
        assert_eq!(facets["total"], 0, "{facets}");
        // Its files, their text and the preview (which quotes the original) are refused.
        for path in [
            format!("/api/v1/attachments/{file}"),
            format!("/api/v1/attachments/{file}/text/pages"),
            format!("/api/v1/attachments/{file}/link"),
            preview_path.clone(),
        ] {
            let (status, error) = read(&clm, reader, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {error}");
            assert!(
                error["message"].as_str().unwrap().contains(&copy_id),
                "the refusal points at the copy: {error}"
            );
        }
        // What the file is, and whether it was read, stay visible.
        let (status, _) = read(&clm, reader, &format!("/api/v1/attachments/{file}/text")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let owner_pdf = clm
        .send(
            Method::GET,
            &format!("{contract_path}/pdf"),
            &clm.member,
            None,
        )
        .await;
    assert!(pdf_text(&owner_pdf.bytes().await.unwrap()).contains("Zebrafish"));
    let owner_file = clm
        .send(
            Method::GET,
            &format!("/api/v1/attachments/{file}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(owner_file.status(), StatusCode::OK);

    // A new text by the owner: the others still read the copy, of the version it was
    // made of, and no other version or diff.
    let (status, updated) = clm
        .json(
            Method::PATCH,
            &contract_path,
            &clm.member,
            Some(json!({"version": 1, "body": "Project Zebrafish ships under the new tapir clause."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, seen) = read(&clm, &clm.viewer, &contract_path).await;
    assert_eq!(seen["body"], copy_text.as_str());
    for path in [
        format!("{contract_path}/versions/2"),
        format!("{contract_path}/diff?from=1&to=2"),
    ] {
        let (status, _) = read(&clm, &clm.viewer, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let (status, _) = read(&clm, &clm.manager, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }

    // The tenant raises the role to admin: the manager reads the copy too, and may not
    // rewrite a text it cannot read.
    let settings = "/api/v1/document-settings";
    for role in ["owner", "", "ADMIN"] {
        let (status, error) = clm
            .json(
                Method::PUT,
                settings,
                &clm.admin,
                Some(json!({"ocr_languages": ["eng"], "original_role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{role}: {error}");
    }
    let (status, _) = clm
        .json(
            Method::PUT,
            settings,
            &clm.admin,
            Some(json!({"ocr_languages": ["eng"], "original_role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, seen) = read(&clm, &clm.manager, &contract_path).await;
    assert_eq!(seen["body_redaction_id"], copy_id.as_str());
    let (status, _) = clm
        .json(
            Method::PATCH,
            &contract_path,
            &clm.manager,
            Some(json!({"version": 2, "body": "Overwritten blind."})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, tagged) = clm
        .json(
            Method::PATCH,
            &contract_path,
            &clm.manager,
            Some(json!({"version": 2, "tags": ["shipping"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tagged}");
    assert_eq!(
        tagged["body"],
        copy_text.as_str(),
        "a write answers as a read"
    );

    // A copy made without restricting opens the original to every reader again.
    redact_first_finding(&clm, &id, 3, false).await;
    let (_, seen) = read(&clm, &clm.viewer, &contract_path).await;
    assert_eq!(seen["original_restricted"], false);
    assert!(seen["body"].as_str().unwrap().contains("Zebrafish"));
    assert_eq!(found_by(&clm, &clm.viewer, "quokka").await, [id.as_str()]);

    // Restricted again, the draft is still deleted whole by its owner.
    redact_first_finding(&clm, &id, 3, true).await;
    assert_eq!(
        clm.status(Method::DELETE, &contract_path, &clm.member, None)
            .await,
        StatusCode::NO_CONTENT
    );
}
