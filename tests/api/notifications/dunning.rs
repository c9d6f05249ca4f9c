//! An invoice left unpaid is reminded on the tenant's dunning schedule, days after its
//! due date: each step mailed to the customer (with the PDF) and told to the invoice's
//! people, the steps of invoices already overdue moved by new settings, and nothing
//! once it is paid. Through a real SMTP server and the manual clock.

use super::invoices::{billing, draft, invoice_messages};
use super::*;

fn settings(dunning_days: Value) -> Value {
    json!({"number_format": "INV-{YYYY}-{NNNN}", "payment_terms_days": 30,
           "reminder_days": 0, "email_reminders": true, "dunning_days": dunning_days})
}

async fn save(org: &Org, body: Value) -> (StatusCode, Value) {
    org.call(0, None, Method::PUT, "/api/v1/invoice-settings", Some(body))
        .await
}

/// Waits until the timer keyed `key` has run.
async fn timer_ran(org: &Org, key: &str) {
    let sql = format!(
        "select count(*) from public.jobs where kind = 'invoices.due' \
         and state = 'completed' and unique_key = '{key}'"
    );
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while count(org, &sql).await == 0 {
        assert!(Instant::now() < deadline, "{key} runs");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unpaid_invoice_is_reminded_on_the_tenants_dunning_schedule_each_step_once() {
    let (smtp, mut org) = billing().await;

    // A schedule that is not one is refused, and nothing is saved.
    let eleven: Vec<i32> = (1..=11).collect();
    for bad in [
        json!([0]),
        json!([7, 7]),
        json!([366]),
        json!(eleven),
        json!([-3]),
        json!([1.5]),
        json!("7"),
        json!(null),
    ] {
        let (status, answer) = save(&org, settings(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        if bad
            .as_array()
            .is_some_and(|steps| steps.iter().all(Value::is_i64))
        {
            assert_eq!(answer["error"], "invalid_dunning_days", "{bad}: {answer}");
        }
    }
    let (_, kept) = org
        .as_("vera", Method::GET, "/api/v1/invoice-settings", None)
        .await;
    assert_eq!(kept["dunning_days"], json!([]), "{kept}");
    let (status, saved) = save(&org, settings(json!([14, 7]))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["dunning_days"], json!([7, 14]), "kept in order");

    // Two invoices mailed, both due on 31 December; one is paid at once.
    let dunned = draft(&org, "bill", "Globex").await;
    let paid = draft(&org, "bill", "Hooli").await;
    for invoice in [&dunned, &paid] {
        created(
            &org,
            "bill",
            &format!("/api/v1/invoices/{invoice}/emails"),
            json!({"to": ["ap@globex.test"]}),
        )
        .await;
    }
    invoice_messages(&smtp, 2).await;
    let key = |invoice: &str, kind: &str| format!("invoice:{invoice}:{kind}");
    settle_timers(
        &org,
        "invoices.due",
        &format!("invoice:{dunned}:%"),
        &[
            (key(&dunned, "dunning:14"), at("2027-01-14T09:00:00Z")),
            (key(&dunned, "dunning:7"), at("2027-01-07T09:00:00Z")),
            (key(&dunned, "overdue"), at("2027-01-01T00:00:00Z")),
        ],
    )
    .await;
    let payment = json!({"amount": "110.00", "paid_on": "2026-12-01", "method": "transfer"});
    let (status, answer) = org
        .as_(
            "bill",
            Method::POST,
            &format!("/api/v1/invoices/{paid}/payments"),
            Some(payment.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The day after the due date: overdue, and told so.
    org.advance_to(at("2027-01-01T00:00:00Z"));
    org.relogin().await;
    let messages = invoice_messages(&smtp, 3).await;
    assert_eq!(
        messages[2]["subject"],
        "Overdue: invoice INV-2026-0001 was due 2026-12-31"
    );

    // A longer schedule set while the invoice is overdue moves its steps still to come.
    let (status, saved) = save(&org, settings(json!([7, 14, 30]))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    settle_timers(
        &org,
        "invoices.due",
        &format!("invoice:{dunned}:%"),
        &[
            (key(&dunned, "dunning:14"), at("2027-01-14T09:00:00Z")),
            (key(&dunned, "dunning:30"), at("2027-01-30T09:00:00Z")),
            (key(&dunned, "dunning:7"), at("2027-01-07T09:00:00Z")),
        ],
    )
    .await;

    // Seven days overdue, at 09:00: the customer is reminded, and so are Bill and the
    // account's owner.
    org.advance_to(at("2027-01-07T09:00:00Z"));
    org.relogin().await;
    let messages = invoice_messages(&smtp, 4).await;
    assert_eq!(
        messages[3]["subject"],
        "Reminder: invoice INV-2026-0001 is 7 days overdue"
    );
    assert_eq!(messages[3]["to"], json!(["ap@globex.test"]));
    assert!(
        messages[3]["text"].as_str().unwrap().contains("110.00 EUR"),
        "{}",
        messages[3]
    );
    org.inbox_until("bill", "told it is 7 days overdue", |items| {
        items.iter().any(|n| {
            n["type"] == "invoice_overdue"
                && n["title"]
                    .as_str()
                    .unwrap_or("")
                    .contains("is 7 days overdue")
        })
    })
    .await;

    // Fourteen days: the next step. Then it is paid, and the last step sends nothing.
    org.advance_to(at("2027-01-14T09:00:00Z"));
    org.relogin().await;
    let messages = invoice_messages(&smtp, 5).await;
    assert_eq!(
        messages[4]["subject"],
        "Reminder: invoice INV-2026-0001 is 14 days overdue"
    );
    let (status, answer) = org
        .as_(
            "bill",
            Method::POST,
            &format!("/api/v1/invoices/{dunned}/payments"),
            Some(payment),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    org.advance_to(at("2027-01-30T09:00:00Z"));
    org.relogin().await;
    timer_ran(&org, &key(&dunned, "dunning:30")).await;
    for invoice in [&paid, &dunned] {
        timer_ran(&org, &key(invoice, "dunning:14")).await;
    }
    let dunnings = |invoice: &str| {
        format!(
            "select count(*) from t_acme.audit_logs where action = 'dunning' \
             and entity_id = '{invoice}'"
        )
    };
    assert_eq!(count(&org, &dunnings(&dunned)).await, 2, "one per step");
    assert_eq!(count(&org, &dunnings(&paid)).await, 0, "paid at once");
    let received = smtp.received().await;
    let with_files = received["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    assert_eq!(with_files, 5, "nothing mailed once paid: {received}");
    let (_, invoice) = org
        .as_(
            "vera",
            Method::GET,
            &format!("/api/v1/invoices/{dunned}"),
            None,
        )
        .await;
    assert_eq!(invoice["status"], "paid", "{invoice}");
}
