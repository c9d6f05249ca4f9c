//! An invoice as a PDF, printed by the document renderer (`documents::pdf`): who bills
//! whom, the dates, each line with its amounts, the totals, and the payments so far.

use uuid::Uuid;

use super::model::InvoiceView;
use crate::documents::pdf::sections_pdf;
use crate::kernel::reads::read_as;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

const PARTIES: &str = "select a.name, a.billing_address, c.title from counterparties a \
     left join contracts c on c.id = $2 where a.id = $1";

/// An invoice's PDF, for anyone who may read it, with the file name it goes by.
pub async fn for_reader(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<(String, Vec<u8>), DomainError> {
    let invoice = super::service::get(db, principal, id).await?;
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(PARTIES, &[&invoice.account_id, &invoice.contract_id])],
    )
    .await?;
    let parties = results[0]
        .first()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap_or_default();
    Ok((file_name(&invoice), render(invoice, parties).await?))
}

/// An invoice's PDF inside a unit of work (a job mailing it), with its file name.
pub async fn in_tx(tx: &TenantTx, invoice: InvoiceView) -> Result<(String, Vec<u8>), DomainError> {
    let parties = tx
        .query_opt(PARTIES, &[&invoice.account_id, &invoice.contract_id])
        .await
        .map_err(DomainError::database)?
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap_or_default();
    Ok((file_name(&invoice), render(invoice, parties).await?))
}

/// `INV-2026-0001.pdf`: the number, with what a file name cannot hold replaced.
pub fn file_name(invoice: &InvoiceView) -> String {
    let stem: String = invoice
        .number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{stem}.pdf")
}

async fn render(
    invoice: InvoiceView,
    (account, address, contract): (String, Option<String>, Option<String>),
) -> Result<Vec<u8>, DomainError> {
    let sections = sections(&invoice, &account, address, contract);
    let title = format!("Invoice {}", invoice.number);
    tokio::task::spawn_blocking(move || sections_pdf(&title, &sections))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("pdf: {e}")))
}

fn sections(
    invoice: &InvoiceView,
    account: &str,
    address: Option<String>,
    contract: Option<String>,
) -> Vec<(String, Vec<String>)> {
    let money = |amount: &str| format!("{amount} {}", invoice.currency);
    let mut bill_to = vec![account.to_owned()];
    bill_to.extend(address);
    let mut terms = vec![
        format!("Issued: {}", invoice.issue_date),
        format!("Due: {}", invoice.due_date),
        format!("Status: {}", invoice.status.replace('_', " ")),
    ];
    terms.extend(contract.map(|title| format!("Contract: {title}")));
    let lines = invoice
        .lines
        .iter()
        .flatten()
        .map(|line| {
            let mut text = format!(
                "{}. {}: {} x {}",
                line.position,
                line.description,
                line.quantity,
                money(&line.unit_price)
            );
            if line.discount.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
                text.push_str(&format!(
                    ", less {}% ({})",
                    line.discount_percent,
                    money(&line.discount)
                ));
            }
            text.push_str(&format!(
                "; net {}, tax {}% {}, total {}",
                money(&line.net),
                line.tax_rate,
                money(&line.tax),
                money(&line.total)
            ));
            text
        })
        .collect();
    let totals = vec![
        format!("Subtotal: {}", money(&invoice.subtotal)),
        format!("Discounts: {}", money(&invoice.discount_total)),
        format!("Tax: {}", money(&invoice.tax_total)),
        format!("Total: {}", money(&invoice.total)),
        format!("Paid: {}", money(&invoice.paid)),
        format!("Balance due: {}", money(&invoice.balance)),
    ];
    let mut sections = vec![
        ("Bill to".to_owned(), bill_to),
        ("Terms".to_owned(), terms),
        ("Lines".to_owned(), lines),
        ("Totals".to_owned(), totals),
    ];
    let payments: Vec<String> = invoice
        .payments
        .iter()
        .flatten()
        .map(|p| {
            format!(
                "{}: {}{}",
                p.paid_on,
                money(&p.amount),
                p.method
                    .as_deref()
                    .map(|m| format!(" by {m}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !payments.is_empty() {
        sections.push(("Payments".to_owned(), payments));
    }
    if let Some(reason) = &invoice.void_reason {
        sections.push(("Void".to_owned(), vec![reason.clone()]));
    }
    sections
}
