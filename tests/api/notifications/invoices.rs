//! Invoices mailed to their customers through a real SMTP server: the PDF attached,
//! the tenant as the sender and the requester as the one replies reach; a draft sent
//! in the same transaction; hostile requests refused with nothing written; an outage
//! that delays but loses and doubles nothing; an address the server refuses failing
//! the email for it alone and telling whoever asked.

use super::*;

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// An account with an email and a draft invoice of 110.00 EUR to it, made by `who`.
pub(super) async fn draft(org: &Org, who: &str, account: &str) -> String {
    let account = created(
        org,
        who,
        "/api/v1/counterparties",
        json!({"name": account, "email": "ap@globex.test"}),
    )
    .await;
    let invoice = created(
        org,
        who,
        "/api/v1/invoices",
        json!({"account_id": id(&account), "currency": "EUR",
               "lines": [{"description": "Licences", "quantity": "2", "unit_price": "50", "tax_rate": "10"}]}),
    )
    .await;
    id(&invoice)
}

/// The invoice as Bill reads it.
async fn invoice_of(org: &Org, invoice: &str) -> Value {
    let (status, found) = org
        .as_(
            "bill",
            Method::GET,
            &format!("/api/v1/invoices/{invoice}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
}

/// The invoice's emails once the newest is no longer `queued`.
pub(super) async fn settled(org: &Org, invoice: &str) -> Vec<Value> {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let (status, page) = org
            .as_(
                "vera",
                Method::GET,
                &format!("/api/v1/invoices/{invoice}/emails"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.first().is_some_and(|e| e["status"] != "queued") {
            return items;
        }
        assert!(Instant::now() < deadline, "the email settles: {page}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// The messages with a file attached (invoices, not notifications), once there are `n`.
pub(super) async fn invoice_messages(smtp: &Smtp, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let received = smtp.received().await;
        let found: Vec<Value> = received["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))
            .cloned()
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{n} invoice messages: {received}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_invoice_is_mailed_with_its_pdf_as_the_tenant_and_hostile_requests_write_nothing() {
    let (smtp, org) = org_with_smtp(
        "2026-12-01T08:00:00Z",
        &[],
        &[("bill", "member"), ("mona", "member"), ("vera", "viewer")],
    )
    .await;
    let invoice = draft(&org, "bill", "Globex").await;
    let path = format!("/api/v1/invoices/{invoice}/emails");
    let many: Vec<String> = (0..21).map(|n| format!("p{n}@globex.test")).collect();
    for (who, body, expected) in [
        ("vera", json!({}), StatusCode::FORBIDDEN),
        ("mona", json!({}), StatusCode::FORBIDDEN),
        (
            "bill",
            json!({"to": ["not an address"]}),
            StatusCode::BAD_REQUEST,
        ),
        ("bill", json!({"to": []}), StatusCode::BAD_REQUEST),
        ("bill", json!({"to": many}), StatusCode::BAD_REQUEST),
        ("bill", json!({"cc": ["x@"]}), StatusCode::BAD_REQUEST),
        (
            "bill",
            json!({"to": ["a@globex.test\r\nBcc: evil@example.com"]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bill",
            json!({"subject": "Hi\r\nBcc: evil@example.com"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bill",
            json!({"subject": "x".repeat(301)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bill",
            json!({"message": "x".repeat(5001)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bill",
            json!({"bcc": ["a@globex.test"]}),
            StatusCode::BAD_REQUEST,
        ),
        ("bill", json!(["ap@globex.test"]), StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) = org.as_(who, Method::POST, &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{who} {body}: {answer}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
    }
    let unknown = format!("/api/v1/invoices/{}/emails", uuid::Uuid::new_v4());
    let (status, _) = org
        .as_("bill", Method::POST, &unknown, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        count(&org, "select count(*) from t_acme.invoice_emails").await,
        0
    );
    assert_eq!(
        count(
            &org,
            "select count(*) from public.jobs where kind = 'invoices.email'"
        )
        .await,
        0
    );
    let still = invoice_of(&org, &invoice).await;
    assert_eq!(still["status"], "draft", "a refused request sends nothing");

    // To the account's address when nobody is named; the draft is sent with it.
    let (status, email) = org
        .as_(
            "bill",
            Method::POST,
            &path,
            Some(json!({"cc": ["Boss@Globex.test"],
                        "message": "Thank you for your business. <b>Net 30</b>"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{email}");
    assert_eq!(email["status"], "queued");
    assert_eq!(email["to"], json!(["ap@globex.test"]));
    assert_eq!(email["subject"], "Invoice INV-2026-0001 from acme");
    let sent = invoice_of(&org, &invoice).await;
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string());

    let message = &invoice_messages(&smtp, 1).await[0];
    assert_eq!(
        message["to"],
        json!(["ap@globex.test", "Boss@Globex.test"]),
        "the copy is delivered too"
    );
    assert!(message["cc"].as_str().unwrap().contains("Boss@Globex.test"));
    assert!(
        message["from"].as_str().unwrap().starts_with("acme <"),
        "{message}"
    );
    assert!(
        message["reply_to"]
            .as_str()
            .unwrap()
            .contains("bill@example.com"),
        "replies reach whoever sent it: {message}"
    );
    assert_eq!(message["auto_submitted"], "", "a person asked for it");
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{message}");
    assert_eq!(attachments[0]["filename"], "INV-2026-0001.pdf");
    assert_eq!(attachments[0]["content_type"], "application/pdf");
    assert!(attachments[0]["head"].as_str().unwrap().starts_with("%PDF"));
    let text = message["text"].as_str().unwrap();
    for expected in [
        "Thank you for your business. <b>Net 30</b>",
        "Amount due: 110.00 EUR",
        "Due date: 2026-12-31",
        "attached as INV-2026-0001.pdf",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    let html = message["html"].as_str().unwrap();
    assert!(html.contains("&lt;b&gt;Net 30"), "{html}");
    assert!(!html.contains("<b>Net 30"));

    let emails = settled(&org, &invoice).await;
    assert_eq!(emails[0]["status"], "sent");
    assert_eq!(emails[0]["attempts"], 1);
    assert!(emails[0]["sent_at"].is_string());

    // Mailed again to someone else, a minute later: the invoice stays as it is.
    org.advance_to(org.now() + Duration::minutes(1));
    let (status, again) = org
        .as_(
            "bill",
            Method::POST,
            &path,
            Some(json!({"to": ["Jane Doe <jane@globex.test>"], "subject": "Your invoice, again"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an address, not a mailbox: {again}"
    );
    let again = created(
        &org,
        "bill",
        &path,
        json!({"to": ["jane@globex.test"], "subject": "Your invoice, again"}),
    )
    .await;
    let messages = invoice_messages(&smtp, 2).await;
    assert_eq!(messages[1]["to"], json!(["jane@globex.test"]));
    assert_eq!(messages[1]["subject"], "Your invoice, again");
    let emails = settled(&org, &invoice).await;
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0]["id"], again["id"], "newest first");
    let still = invoice_of(&org, &invoice).await;
    assert_eq!(still["status"], "sent");

    // At most ten a day per invoice.
    org.db
        .client()
        .await
        .execute(
            "insert into t_acme.invoice_emails (invoice_id, recipients, subject, status, created_at) \
             select $1::text::uuid, '{x@globex.test}', 's', 'sent', $2 from generate_series(1, 8)",
            &[&invoice, &org.now()],
        )
        .await
        .unwrap();
    let (status, refused) = org.as_("bill", Method::POST, &path, Some(json!({}))).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("too_many_emails")),
        "{refused}"
    );

    // A void invoice is never mailed; an account without an address needs one named.
    let void = draft(&org, "bill", "Globex Europe").await;
    let (status, _) = org
        .as_(
            "bill",
            Method::POST,
            &format!("/api/v1/invoices/{void}/void"),
            Some(json!({"reason": "duplicate"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = org
        .as_(
            "bill",
            Method::POST,
            &format!("/api/v1/invoices/{void}/emails"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_status")),
        "{refused}"
    );
    let bare = created(
        &org,
        "bill",
        "/api/v1/counterparties",
        json!({"name": "Hooli"}),
    )
    .await;
    let unaddressed = created(
        &org,
        "bill",
        "/api/v1/invoices",
        json!({"account_id": id(&bare), "currency": "EUR",
               "lines": [{"description": "Audit", "quantity": "1", "unit_price": "10"}]}),
    )
    .await;
    let (status, refused) = org
        .as_(
            "bill",
            Method::POST,
            &format!("/api/v1/invoices/{}/emails", id(&unaddressed)),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let still = invoice_of(&org, &id(&unaddressed)).await;
    assert_eq!(still["status"], "draft", "refused whole: not sent either");
}

#[tokio::test]
async fn an_outage_delays_an_invoice_email_without_loss_or_double_and_a_refused_address_fails_alone(
) {
    let (smtp, mut org) = org_with_smtp(
        "2026-12-01T08:00:00Z",
        &[],
        &[("bill", "member"), ("vera", "viewer")],
    )
    .await;
    let invoice = draft(&org, "bill", "Globex").await;
    let path = format!("/api/v1/invoices/{invoice}/emails");

    // The mail server is down: the email waits, its error recorded, nothing lost.
    smtp.set_down(true).await;
    let email = created(&org, "bill", &path, json!({})).await;
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while count(
        &org,
        "select count(*) from t_acme.invoice_emails where status = 'queued' and attempts >= 1 and last_error is not null",
    )
    .await
        < 1
    {
        assert!(Instant::now() < deadline, "a failed attempt is recorded");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(smtp.received().await["messages"]
        .as_array()
        .unwrap()
        .is_empty());

    // It comes back; the retry comes due when the clock passes its backoff.
    smtp.set_down(false).await;
    org.advance_to(org.now() + Duration::hours(1));
    org.relogin().await;
    let messages = invoice_messages(&smtp, 1).await;
    assert_eq!(
        messages[0]["attachments"][0]["filename"],
        "INV-2026-0001.pdf"
    );
    let emails = settled(&org, &invoice).await;
    assert_eq!(emails[0]["id"], email["id"]);
    assert_eq!(emails[0]["status"], "sent");
    assert!(emails[0]["attempts"].as_i64().unwrap() >= 2, "{emails:?}");

    // Sent, but as if the process died before recording it: the job runs again and
    // sends the same Message-ID, which a deduplicating server keeps once.
    let client = org.db.client().await;
    client
        .execute(
            "update t_acme.invoice_emails set status = 'queued', sent_at = null, delivered = '{}'",
            &[],
        )
        .await
        .unwrap();
    client
        .execute(
            "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, max_attempts, timeout_ms, created_at) \
             select id, 'invoices.email', 'default', jsonb_build_object('email_id', $1::text), 1, 'available', $2, $2, 3, 60000, $2 \
             from public.tenants where slug = 'acme'",
            &[&id(&email), &org.now()],
        )
        .await
        .unwrap();
    settled(&org, &invoice).await;
    let received = smtp.received().await;
    assert_eq!(received["duplicates"], 1, "{received}");
    assert_eq!(invoice_messages(&smtp, 1).await.len(), 1);

    // An address the mail server refuses for good: failed, and Bill is told.
    let refused = created(&org, "bill", &path, json!({"to": ["nobody@rejected.test"]})).await;
    let emails = settled(&org, &invoice).await;
    assert_eq!(emails[0]["id"], refused["id"]);
    assert_eq!(emails[0]["status"], "failed");
    assert_eq!(emails[0]["attempts"], 1, "a refusal is not retried");
    assert!(emails[0]["failed_at"].is_string());
    assert!(
        emails[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no such user"),
        "{emails:?}"
    );
    let title = told_of_failure(&org, 1).await;
    assert!(
        title.contains("INV-2026-0001") && title.contains("nobody@rejected.test"),
        "{title}"
    );
    assert_eq!(
        mail_audits(&org).await,
        5,
        "two requests, a send, a repeat recorded again, and a failure"
    );

    // One address refused among others: the others are reached all the same (each by
    // an envelope of its own, the same Message-ID), the email is sent, and Bill is told
    // which address was refused.
    let duplicates = smtp.received().await["duplicates"].as_i64().unwrap();
    // A minute on, so that it lists first.
    org.advance_to(org.now() + Duration::minutes(1));
    org.relogin().await;
    let mixed = created(
        &org,
        "bill",
        &path,
        json!({"to": ["jane@globex.test", "nobody@rejected.test"], "cc": ["ops@globex.test"]}),
    )
    .await;
    let emails = settled(&org, &invoice).await;
    assert_eq!(emails[0]["id"], mixed["id"]);
    assert_eq!(emails[0]["status"], "sent", "{emails:?}");
    assert_eq!(emails[0]["attempts"], 1, "a refusal is not retried");
    assert_eq!(
        emails[0]["delivered"],
        json!(["jane@globex.test", "ops@globex.test"])
    );
    assert_eq!(emails[0]["refused"], json!(["nobody@rejected.test"]));
    assert!(emails[0]["sent_at"].is_string());
    assert!(emails[0]["last_error"]
        .as_str()
        .unwrap()
        .starts_with("nobody@rejected.test: "));
    let messages = invoice_messages(&smtp, 2).await;
    let reached = messages.last().unwrap();
    assert_eq!(reached["to"], json!(["jane@globex.test"]));
    assert!(
        reached["cc"].as_str().unwrap().contains("ops@globex.test"),
        "the headers name every recipient: {reached}"
    );
    assert_eq!(
        smtp.received().await["duplicates"].as_i64().unwrap(),
        duplicates + 1,
        "ops@ took the same message in an envelope of its own"
    );
    let title = told_of_failure(&org, 2).await;
    assert!(
        title.contains("nobody@rejected.test") && !title.contains("jane@"),
        "{title}"
    );
    assert_eq!(
        mail_audits(&org).await,
        8,
        "and now a request, a send and a refusal"
    );
}

/// The title of the newest of Bill's `n` notifications, which tells him an email failed.
async fn told_of_failure(org: &Org, n: usize) -> String {
    let inbox = org.inbox("bill", n).await;
    assert_eq!(inbox[0]["type"], "invoice_email_failed", "{inbox:?}");
    inbox[0]["title"].as_str().unwrap().to_owned()
}

/// How many emails were requested, sent and failed, by the audit log.
async fn mail_audits(org: &Org) -> i64 {
    count(
        org,
        "select count(*) from t_acme.audit_logs where action in ('email_requested', 'email_sent', 'email_failed')",
    )
    .await
}

/// A tenant on 1 December 2026 mailing through a real SMTP server, where Bill (a
/// member) bills and Vera (a viewer) reads.
pub(super) async fn billing() -> (Smtp, Org) {
    org_with_smtp(
        "2026-12-01T08:00:00Z",
        &[],
        &[("bill", "member"), ("vera", "viewer")],
    )
    .await
}

/// Sets the invoices to be reminded of `days` before they are due, by email too.
async fn remind_by_email(org: &Org, days: i32) {
    let (status, settings) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/invoice-settings",
            Some(
                json!({"number_format": "INV-{YYYY}-{NNNN}", "payment_terms_days": 30,
                        "reminder_days": days, "email_reminders": true}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
}

#[tokio::test]
async fn a_tenant_that_wants_it_reminds_its_customers_by_email() {
    let (smtp, mut org) = billing().await;
    remind_by_email(&org, 3).await;
    let (_, read) = org
        .as_("vera", Method::GET, "/api/v1/invoice-settings", None)
        .await;
    assert_eq!(read["email_reminders"], true);
    let mailed = draft(&org, "bill", "Globex").await;
    created(
        &org,
        "bill",
        &format!("/api/v1/invoices/{mailed}/emails"),
        json!({"to": ["ap@globex.test", "nobody@rejected.test"]}),
    )
    .await;
    invoice_messages(&smtp, 1).await;
    let emails = settled(&org, &mailed).await;
    assert_eq!(emails[0]["refused"], json!(["nobody@rejected.test"]));
    // Sent but never mailed: nobody to remind.
    let unmailed = draft(&org, "bill", "Hooli").await;
    let (status, _) = org
        .as_(
            "bill",
            Method::POST,
            &format!("/api/v1/invoices/{unmailed}/send"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Three days before the due date (31 December), at 09:00: a reminder to the
    // customer, with the PDF.
    org.advance_to(at("2026-12-28T09:00:00Z"));
    org.relogin().await;
    let messages = invoice_messages(&smtp, 2).await;
    assert_eq!(messages[1]["to"], json!(["ap@globex.test"]));
    assert_eq!(
        messages[1]["subject"],
        "Reminder: invoice INV-2026-0001 is due 2026-12-31"
    );
    assert!(
        messages[1]["text"].as_str().unwrap().contains("110.00 EUR"),
        "{}",
        messages[1]
    );
    assert!(messages[1]["reply_to"]
        .as_str()
        .unwrap()
        .contains("bill@example.com"));

    // New settings after the reminder came move the timers of the invoices still
    // waiting, but a due date is reminded of once: the moved reminder comes to nothing.
    remind_by_email(&org, 1).await;
    let mut moved = Vec::new();
    for invoice in [&mailed, &unmailed] {
        let key = |kind: &str| format!("invoice:{invoice}:{kind}");
        let expected = [
            (key("overdue"), at("2027-01-01T00:00:00Z")),
            (key("reminder"), at("2026-12-30T09:00:00Z")),
        ];
        settle_timers(
            &org,
            "invoices.due",
            &format!("invoice:{invoice}:%"),
            &expected,
        )
        .await;
        moved.push(expected[1].0.clone());
    }
    org.advance_to(at("2026-12-30T09:00:00Z"));
    org.relogin().await;
    let fired = "select count(*) from public.jobs where kind = 'invoices.due' \
                 and state = 'completed' and unique_key like '%:reminder' \
                 and run_at = '2026-12-30T09:00:00Z'";
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while count(&org, fired).await < moved.len() as i64 {
        assert!(
            Instant::now() < deadline,
            "the moved reminders run: {moved:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(
        count(
            &org,
            "select count(*) from t_acme.audit_logs where action = 'payment_due'"
        )
        .await,
        2,
        "one reminder for each invoice's due date"
    );

    // The day after: overdue, and told so.
    org.advance_to(at("2027-01-01T00:00:00Z"));
    org.relogin().await;
    let messages = invoice_messages(&smtp, 3).await;
    assert_eq!(
        messages[2]["subject"],
        "Overdue: invoice INV-2026-0001 was due 2026-12-31"
    );
    let emails = settled(&org, &mailed).await;
    assert_eq!(emails.len(), 3, "{emails:?}");
    assert!(emails.iter().all(|e| e["status"] == "sent"));
    // The reminders went to whom the email reached, the refused address left out.
    for reminder in &emails[..2] {
        assert_eq!(reminder["to"], json!(["ap@globex.test"]), "{reminder}");
        assert_eq!(reminder["refused"], json!([]), "{reminder}");
    }
    assert_eq!(
        count(
            &org,
            "select count(*) from t_acme.invoice_emails e join t_acme.invoices i on i.id = e.invoice_id \
             where i.number = 'INV-2026-0002'"
        )
        .await,
        0,
        "the invoice never mailed is not reminded by email"
    );
}
