//! One search across accounts, contacts, leads, opportunities, invoices and contract
//! titles: a case-blind substring match on each record's name (trigram-indexed), the
//! best of each kind by similarity, merged best first. One statement, read as the
//! caller; contracts by title only, so a redacted contract's text is never searched.

use super::model::*;
use crate::kernel::reads::read_as;
use crate::kernel::validate;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// Per kind: the statement's branch, `$1` the lowered LIKE pattern, `$2` the lowered
/// query, `$3` the limit.
fn branch(kind: &str) -> &'static str {
    match kind {
        "account" => "(select 'account'::text, id, name, industry, similarity(lower(name), $2)::real s \
                      from counterparties where lower(name) like $1 order by s desc, id limit $3)",
        "contact" => "(select 'contact'::text, id, name, nullif(array_to_string(emails, ', '), ''), \
                      similarity(lower(name), $2)::real s \
                      from contacts where lower(name) like $1 order by s desc, id limit $3)",
        "lead" => "(select 'lead'::text, id, name, company, \
                   similarity(lower(name || ' ' || coalesce(company, '') || ' ' || coalesce(email, '')), $2)::real s \
                   from leads where lower(name || ' ' || coalesce(company, '') || ' ' || coalesce(email, '')) like $1 \
                   order by s desc, id limit $3)",
        "opportunity" => "(select 'opportunity'::text, id, name, stage, similarity(lower(name), $2)::real s \
                          from opportunities where lower(name) like $1 order by s desc, id limit $3)",
        "invoice" => "(select 'invoice'::text, id, number, status, similarity(lower(number), $2)::real s \
                      from invoices where lower(number) like $1 order by s desc, id limit $3)",
        _ => "(select 'contract'::text, id, title, status, similarity(lower(title), $2)::real s \
              from contracts where lower(title) like $1 order by s desc, id limit $3)",
    }
}

fn link(kind: &str, id: uuid::Uuid) -> String {
    let collection = match kind {
        "account" => "counterparties",
        "contact" => "contacts",
        "lead" => "leads",
        "opportunity" => "opportunities",
        "invoice" => "invoices",
        _ => "contracts",
    };
    format!("/api/v1/{collection}/{id}")
}

/// The best `limit` records of the kinds asked for whose name holds `q`.
pub async fn search(
    db: &TenantDb,
    principal: &Principal,
    q: &str,
    kinds: &[&str],
    limit: i64,
) -> Result<Vec<Found>, DomainError> {
    let q = q.trim();
    if q.chars().count() < 2 {
        return Err(DomainError::invalid("q needs at least 2 characters"));
    }
    let pattern =
        validate::like_pattern(Some(q))?.ok_or_else(|| DomainError::invalid("q is required"))?;
    let pattern = crate::kernel::letters::fold_case(&pattern);
    let lowered = crate::kernel::letters::fold_case(q);
    let sql = format!(
        "select * from ({}) found order by 5 desc, 3, 2 limit $3",
        kinds
            .iter()
            .map(|k| branch(k))
            .collect::<Vec<_>>()
            .join(" union all ")
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&pattern, &lowered, &limit])],
    )
    .await?;
    Ok(results[0]
        .iter()
        .map(|r| {
            let kind: String = r.get(0);
            let id = r.get(1);
            Found {
                link: link(&kind, id),
                kind,
                id,
                title: r.get(2),
                detail: r.get(3),
                score: r.get(4),
            }
        })
        .collect())
}
