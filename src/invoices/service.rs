//! What can be done to invoices without HTTP: writes take a tenant transaction, who
//! acts and where from, and leave committing to their caller; reads take the tenant's
//! handle and the caller, and check the role in the same round trip.

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::due;
use super::model::*;
use super::numbering::NumberFormat;
use crate::kernel::audit::{self, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::{lock_row, read_as};
use crate::kernel::unit;
use crate::kernel::validate::{self, Currency};
use crate::kernel::{Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// The tenant's numbering and terms.
pub async fn settings(
    db: &TenantDb,
    principal: &Principal,
) -> Result<InvoiceSettings, DomainError> {
    let (_, results) = read_as(db, principal, Role::Viewer, &[(SETTINGS_SQL, &[])]).await?;
    let row = results[0]
        .first()
        .ok_or(DomainError::Missing("invoice settings"))?;
    Ok(settings_view(row))
}

const SETTINGS_SQL: &str = "select number_format, payment_terms_days, reminder_days, \
     email_reminders, dunning_days from invoice_settings";

fn settings_view(row: &tokio_postgres::Row) -> InvoiceSettings {
    InvoiceSettings {
        number_format: row.get(0),
        payment_terms_days: row.get(1),
        reminder_days: row.get(2),
        email_reminders: row.get(3),
        dunning_days: row.get(4),
    }
}

/// Changes the numbering and terms (admins). Audited with the fields that changed.
pub async fn set_settings(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    mut input: InvoiceSettings,
) -> Result<InvoiceSettings, DomainError> {
    NumberFormat::parse(&input.number_format)?;
    if !(0..=365).contains(&input.payment_terms_days) || !(0..=60).contains(&input.reminder_days) {
        return Err(DomainError::invalid(
            "payment_terms_days is 0 to 365, reminder_days 0 to 60",
        ));
    }
    input.dunning_days = validate::distinct_days(
        ("dunning_days", "invalid_dunning_days"),
        &input.dunning_days,
        1..=365,
    )?;
    actor.require(Role::Admin)?;
    let old = settings_view(
        &tx.query_one(&format!("{SETTINGS_SQL} for update"), &[])
            .await
            .map_err(DomainError::database)?,
    );
    tx.execute(
        "update invoice_settings set number_format = $1, payment_terms_days = $2, reminder_days = $3, \
         email_reminders = $4, dunning_days = $5",
        &[
            &input.number_format,
            &input.payment_terms_days,
            &input.reminder_days,
            &input.email_reminders,
            &input.dunning_days,
        ],
    )
    .await
    .map_err(DomainError::write)?;
    audit::record_settings_update(tx, actor, origin, "invoice_settings", &old, &input).await?;
    Ok(input)
}

/// Creates a draft invoice (members and up) with the next number of its period: the
/// counter is taken in this transaction, so a creation that fails gives it back and
/// concurrent ones take turns. Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewInvoice,
) -> Result<InvoiceView, DomainError> {
    let currency = Currency::parse(&input.currency)?;
    let lines = lines(&input.lines)?;
    let notes = validate::optional_text("notes", input.notes.as_deref(), 5000)?;
    actor.require(Role::Member)?;
    check_references(tx, Some(input.account_id), input.contract_id).await?;
    let settings = tx
        .query_one(
            "select number_format, payment_terms_days from invoice_settings",
            &[],
        )
        .await
        .map_err(DomainError::database)?;
    let format = NumberFormat::parse(settings.get(0))?;
    let issue = input
        .issue_date
        .map_or_else(|| unit::now(tx).date_naive(), |d| d.0);
    let due = match input.due_date {
        Some(due) => due.0,
        None => issue + Duration::days(i64::from(settings.get::<_, i32>(1))),
    };
    if due < issue {
        return Err(DomainError::invalid("due_date is before issue_date"));
    }
    // The invoice and its lines go in first under a placeholder number; the counter
    // is taken last, so its row lock (which every creator of the period waits on until
    // this transaction commits) is held for as little as possible.
    let id: Uuid = tx
        .query_one(
            "insert into invoices (number, account_id, contract_id, currency, issue_date, due_date, notes, created_by) \
             values ('pending:' || gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7) returning id",
            &[&input.account_id, &input.contract_id, &currency, &issue, &due, &notes, &actor.user_id()],
        )
        .await
        .map_err(DomainError::write)?
        .get(0);
    write_lines(tx, id, currency.as_str(), &lines).await?;
    let counter: i32 = tx
        .query_one(
            "insert into invoice_counters (period, last_number) values ($1, 1) \
             on conflict (period) do update set last_number = invoice_counters.last_number + 1 \
             returning last_number",
            &[&format.period(issue)],
        )
        .await
        .map_err(DomainError::write)?
        .get(0);
    tx.execute(
        "update invoices set number = $2 where id = $1",
        &[&id, &format.render(issue, counter)],
    )
    .await
    .map_err(DomainError::write)?;
    let view = read(tx, id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "invoice",
            entity_id: Some(view.id),
            changes: json!({"number": view.number, "account_id": view.account_id,
                            "contract_id": view.contract_id, "total": view.total,
                            "currency": view.currency}),
        },
    )
    .await?;
    Ok(view)
}

async fn check_references(
    tx: &TenantTx,
    account: Option<Uuid>,
    contract: Option<Uuid>,
) -> Result<(), DomainError> {
    let row = tx
        .query_one(
            "select ($1::uuid is null or exists(select 1 from counterparties where id = $1)), \
                    ($2::uuid is null or exists(select 1 from contracts where id = $2))",
            &[&account, &contract],
        )
        .await
        .map_err(DomainError::database)?;
    if !row.get::<_, bool>(0) {
        return Err(DomainError::invalid("account_id names no counterparty"));
    }
    if !row.get::<_, bool>(1) {
        return Err(DomainError::invalid("contract_id names no contract"));
    }
    Ok(())
}

/// Replaces an invoice's lines and sums them into its totals.
async fn write_lines(
    tx: &TenantTx,
    id: Uuid,
    currency: &str,
    lines: &[CheckedLine],
) -> Result<(), DomainError> {
    let positions: Vec<i32> = (1..=lines.len() as i32).collect();
    let column =
        |f: fn(&CheckedLine) -> &String| lines.iter().map(f).cloned().collect::<Vec<String>>();
    tx.execute("delete from invoice_lines where invoice_id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    tx.execute(
        "insert into invoice_lines (invoice_id, position, description, quantity, unit_price, \
         discount_percent, tax_rate, minor_units) \
         select $1, l.p, l.d, l.q::numeric, l.u::numeric, l.dp::numeric, l.t::numeric, $8 \
         from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) \
              as l(p, d, q, u, dp, t)",
        &[
            &id,
            &positions,
            &column(|l| &l.description),
            &column(|l| &l.quantity),
            &column(|l| &l.unit_price),
            &column(|l| &l.discount_percent),
            &column(|l| &l.tax_rate),
            &minor_units(currency),
        ],
    )
    .await
    .map_err(DomainError::write)?;
    tx.execute(
        "update invoices i set subtotal = s.gross, discount_total = s.discount, tax_total = s.tax, \
         total = s.net + s.tax, updated_at = $2 \
         from (select coalesce(sum(gross), 0) gross, coalesce(sum(discount), 0) discount, \
                      coalesce(sum(net), 0) net, coalesce(sum(tax), 0) tax \
               from invoice_lines where invoice_id = $1) s \
         where i.id = $1",
        &[&id, &unit::now(tx)],
    )
    .await
    .map_err(DomainError::write)?;
    Ok(())
}

/// An invoice the caller may act on: its creator or a manager.
async fn lock_held(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<InvoiceView, DomainError> {
    actor.require(Role::Member)?;
    let invoice: InvoiceView = lock_row(
        tx,
        &format!("select {COLUMNS} from invoices where id = $1 for update"),
        id,
        "invoice",
    )
    .await?;
    actor.require_owner_or_manager(invoice.created_by, "invoices")?;
    Ok(invoice)
}

fn refuse_status(invoice: &InvoiceView, allowed: &[&str], what: &str) -> Result<(), DomainError> {
    if allowed.contains(&invoice.status.as_str()) {
        return Ok(());
    }
    Err(DomainError::refused(
        Refusal::Conflict,
        "invalid_status",
        format!("a {} invoice cannot be {what}", invoice.status),
        json!({"status": invoice.status, "allowed": allowed}),
    ))
}

/// Changes a draft (its creator or a manager): lines, due date, notes, contract.
/// Audited with the changed totals.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    patch: UpdateInvoice,
) -> Result<InvoiceView, DomainError> {
    let lines = patch.lines.as_deref().map(lines).transpose()?;
    let mut old = lock_held(tx, actor, id).await?;
    refuse_status(&old, &["draft"], "changed")?;
    old.lines = read(tx, old.id).await?.lines;
    let notes = match &patch.notes {
        None => old.notes.clone(),
        Some(n) => validate::optional_text("notes", n.as_deref(), 5000)?,
    };
    let contract = patch.contract_id.unwrap_or(old.contract_id);
    let due = patch.due_date.map_or(old.due_date, |d| d.0);
    if due < old.issue_date {
        return Err(DomainError::invalid("due_date is before issue_date"));
    }
    check_references(tx, None, contract.filter(|c| Some(*c) != old.contract_id)).await?;
    tx.execute(
        "update invoices set notes = $2, contract_id = $3, due_date = $4, updated_at = $5 where id = $1",
        &[&old.id, &notes, &contract, &due, &unit::now(tx)],
    )
    .await
    .map_err(DomainError::write)?;
    if let Some(lines) = &lines {
        write_lines(tx, old.id, &old.currency, lines).await?;
    }
    let new = read(tx, old.id).await?;
    audit::record_update(tx, actor, origin, "invoice", new.id, &old, &new).await?;
    Ok(new)
}

/// Sends a draft (its creator or a manager): from now on it is read-only but for
/// payments and voiding, and its reminder and its overdue marking wait as timers.
/// Audited as `sent`.
pub async fn send(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<InvoiceView, DomainError> {
    let old = lock_held(tx, actor, id).await?;
    refuse_status(&old, &["draft"], "sent")?;
    mark_sent(tx, actor, origin, old).await
}

/// An invoice about to be mailed (its creator or a manager), locked: a draft is sent
/// first, in the same transaction, so what the customer receives is what the tenant
/// has sent; a void invoice is never mailed.
pub async fn to_mail(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<InvoiceView, DomainError> {
    let invoice = lock_held(tx, actor, id).await?;
    refuse_status(
        &invoice,
        &["draft", "sent", "partly_paid", "overdue", "paid"],
        "emailed",
    )?;
    if invoice.status == "draft" {
        return mark_sent(tx, actor, origin, invoice).await;
    }
    read(tx, invoice.id).await
}

async fn mark_sent(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    old: InvoiceView,
) -> Result<InvoiceView, DomainError> {
    let now = unit::now(tx);
    tx.execute(
        "update invoices set status = 'sent', sent_at = $2, updated_at = $2 where id = $1",
        &[&old.id, &now],
    )
    .await
    .map_err(DomainError::write)?;
    due::schedule(tx, old.id, old.due_date, now).await?;
    let new = read(tx, old.id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "sent",
            entity: "invoice",
            entity_id: Some(new.id),
            changes: json!({"number": new.number, "total": new.total, "due_date": new.due_date}),
        },
    )
    .await?;
    Ok(new)
}

/// Records a payment against a sent, partly paid or overdue invoice (its creator or a
/// manager), never more than the balance: paid in full, it is `paid`. Audited as
/// `payment_recorded`.
pub async fn pay(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: NewPayment,
) -> Result<InvoiceView, DomainError> {
    let method = validate::optional_text("method", input.method.as_deref(), 50)?;
    let reference = validate::optional_text("reference", input.reference.as_deref(), 200)?;
    let old = lock_held(tx, actor, id).await?;
    let amount = payment_amount(&input.amount, &old.currency)?;
    refuse_status(&old, &["sent", "partly_paid", "overdue"], "paid")?;
    let now = unit::now(tx);
    let paid_on = input.paid_on.map_or_else(|| now.date_naive(), |d| d.0);
    let fits: bool = tx
        .query_one(
            "select $1::text::numeric <= total - paid from invoices where id = $2",
            &[&amount, &old.id],
        )
        .await
        .map_err(DomainError::database)?
        .get(0);
    if !fits {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "overpayment",
            format!("the balance is {} {}", old.balance, old.currency),
            json!({"balance": old.balance}),
        ));
    }
    tx.execute(
        "insert into invoice_payments (invoice_id, amount, paid_on, method, reference, created_by) \
         values ($1, $2::text::numeric, $3, $4, $5, $6)",
        &[&old.id, &amount, &paid_on, &method, &reference, &actor.user_id()],
    )
    .await
    .map_err(DomainError::write)?;
    tx.execute(
        "update invoices set paid = paid + $2::text::numeric, \
         status = case when paid + $2::text::numeric = total then 'paid' \
                       when status = 'overdue' then 'overdue' else 'partly_paid' end, \
         paid_at = case when paid + $2::text::numeric = total then $3::timestamptz end, updated_at = $3 \
         where id = $1",
        &[&old.id, &amount, &now],
    )
    .await
    .map_err(DomainError::write)?;
    let new = read(tx, old.id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "payment_recorded",
            entity: "invoice",
            entity_id: Some(new.id),
            changes: json!({"number": new.number, "amount": amount, "paid": new.paid,
                            "balance": new.balance, "status": new.status}),
        },
    )
    .await?;
    Ok(new)
}

/// Voids an invoice without payments (its creator or a manager): it keeps its number,
/// so the sequence stays whole. Audited as `voided`.
pub async fn void(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: VoidInvoice,
) -> Result<InvoiceView, DomainError> {
    let reason = validate::text("reason", &input.reason, 1000)?;
    let old = lock_held(tx, actor, id).await?;
    refuse_status(&old, &["draft", "sent", "overdue"], "voided")?;
    if old.paid.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "has_payments",
            "an invoice with payments is not voided",
            json!({"paid": old.paid}),
        ));
    }
    let now = unit::now(tx);
    tx.execute(
        "update invoices set status = 'void', void_reason = $2, voided_at = $3, updated_at = $3 where id = $1",
        &[&old.id, &reason, &now],
    )
    .await
    .map_err(DomainError::write)?;
    due::cancel(tx, old.id).await?;
    let new = read(tx, old.id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "voided",
            entity: "invoice",
            entity_id: Some(new.id),
            changes: json!({"number": new.number, "reason": reason}),
        },
    )
    .await?;
    Ok(new)
}

/// What an invoice list is narrowed to.
#[derive(Default)]
pub struct InvoiceFilter<'a> {
    pub status: Option<&'a str>,
    pub account_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
}

/// A page of invoices, newest first.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &InvoiceFilter<'_>,
    page: &PageRequest,
) -> Result<Page<InvoiceView>, DomainError> {
    if filter
        .status
        .is_some_and(|s| !["draft", "sent", "partly_paid", "paid", "overdue", "void"].contains(&s))
    {
        return Err(DomainError::invalid(
            "status must be draft, sent, partly_paid, paid, overdue or void",
        ));
    }
    let mut w = Filter::new();
    w.push_some(filter.status.map(str::to_owned), |n| {
        format!("status = ${n}")
    });
    w.push_some(filter.account_id, |n| format!("account_id = ${n}"));
    w.push_some(filter.contract_id, |n| format!("contract_id = ${n}"));
    w.after_newest("created_at, id", page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS} from invoices{} order by created_at desc, id desc limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    let rows: Vec<InvoiceView> = results[0].iter().map(InvoiceView::from).collect();
    Ok(Page::keyset(rows, page, |invoice| {
        (invoice.created_at, invoice.id)
    }))
}

/// One invoice with its lines and payments.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<InvoiceView, DomainError> {
    let invoice = format!("select {COLUMNS} from invoices where id = $1");
    let lines =
        format!("select {LINE_COLUMNS} from invoice_lines where invoice_id = $1 order by position");
    let payments = format!(
        "select {PAYMENT_COLUMNS} from invoice_payments where invoice_id = $1 order by paid_on, created_at, id"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&invoice, &[&id]), (&lines, &[&id]), (&payments, &[&id])],
    )
    .await?;
    let mut view = results[0]
        .first()
        .map(InvoiceView::from)
        .ok_or(DomainError::Missing("invoice"))?;
    view.lines = Some(results[1].iter().map(LineView::from).collect());
    view.payments = Some(results[2].iter().map(PaymentView::from).collect());
    Ok(view)
}

/// One invoice with its lines and payments, inside a unit of work.
pub async fn read(tx: &TenantTx, id: Uuid) -> Result<InvoiceView, DomainError> {
    let row = tx
        .query_opt(
            &format!("select {COLUMNS} from invoices where id = $1"),
            &[&id],
        )
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("invoice"))?;
    let mut view = InvoiceView::from(&row);
    let lines = tx
        .query(
            &format!(
                "select {LINE_COLUMNS} from invoice_lines where invoice_id = $1 order by position"
            ),
            &[&id],
        )
        .await
        .map_err(DomainError::database)?;
    view.lines = Some(lines.iter().map(LineView::from).collect());
    let payments = tx
        .query(
            &format!(
                "select {PAYMENT_COLUMNS} from invoice_payments where invoice_id = $1 \
                 order by paid_on, created_at, id"
            ),
            &[&id],
        )
        .await
        .map_err(DomainError::database)?;
    view.payments = Some(payments.iter().map(PaymentView::from).collect());
    Ok(view)
}
