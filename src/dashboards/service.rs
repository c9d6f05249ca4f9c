//! The dashboards: each one statement, read as the caller (viewers and up), over the
//! indexes the records' own lists use.

use chrono::NaiveDate;
use uuid::Uuid;

use super::model::*;
use crate::kernel::reads::read_as;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// Pipeline value by stage and currency, every stage in order (a stage without deals
/// shows no rows).
pub async fn pipeline(
    db: &TenantDb,
    principal: &Principal,
) -> Result<Vec<StageValue>, DomainError> {
    let sql = "select s.key, s.label, s.outcome, o.currency, count(*), sum(o.amount)::text, \
               round(sum(o.amount) * s.probability / 100, 2)::text \
               from pipeline_stages s join opportunities o on o.stage = s.key \
               group by s.key, s.label, s.outcome, s.probability, s.position, o.currency \
               order by s.position, o.currency";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[])]).await?;
    Ok(results[0]
        .iter()
        .map(|r| StageValue {
            stage: r.get(0),
            label: r.get(1),
            outcome: r.get(2),
            currency: r.get(3),
            count: r.get(4),
            amount: r.get(5),
            weighted: r.get(6),
        })
        .collect())
}

/// Win rate by owner over the deals closed in `[from, to)`.
pub async fn win_rate(
    db: &TenantDb,
    principal: &Principal,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<OwnerWinRate>, DomainError> {
    // Deals are counted per owner, currency and stage first (an index-only scan of the
    // closed ones), then their stages' outcomes are joined to a handful of rows.
    let sql = "with closed as ( \
                 select owner_id, currency, stage, count(*) deals, sum(amount) amount \
                 from opportunities where closed_at >= $1::date and closed_at < $2::date \
                 group by owner_id, currency, stage) \
               select c.owner_id, u.display_name, c.currency, \
               coalesce(sum(c.deals) filter (where s.outcome = 'won'), 0)::bigint, \
               coalesce(sum(c.deals) filter (where s.outcome = 'lost'), 0)::bigint, \
               round(coalesce(sum(c.deals) filter (where s.outcome = 'won'), 0) / sum(c.deals), 4)::text, \
               coalesce(sum(c.amount) filter (where s.outcome = 'won'), 0)::text \
               from closed c join pipeline_stages s on s.key = c.stage \
               left join users u on u.id = c.owner_id \
               where s.outcome <> 'open' \
               group by c.owner_id, u.display_name, c.currency \
               order by u.display_name collate \"und-x-icu\" nulls last, c.owner_id, c.currency";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[&from, &to])]).await?;
    Ok(results[0]
        .iter()
        .map(|r| OwnerWinRate {
            owner_id: r.get(0),
            owner_name: r.get(1),
            currency: r.get(2),
            won: r.get(3),
            lost: r.get(4),
            win_rate: r.get(5),
            won_amount: r.get(6),
        })
        .collect())
}

/// The 50 accounts whose approved or executed contracts are worth most, per currency.
pub async fn account_value(
    db: &TenantDb,
    principal: &Principal,
) -> Result<Vec<AccountValue>, DomainError> {
    let sql = "select a.id, a.name, c.currency, count(*), sum(c.value)::text \
               from contracts c join counterparties a on a.id = c.counterparty_id \
               where c.status in ('approved', 'executed') and c.value is not null \
               group by a.id, a.name, c.currency \
               order by sum(c.value) desc, a.id, c.currency limit 50";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[])]).await?;
    Ok(results[0]
        .iter()
        .map(|r| AccountValue {
            account_id: r.get(0),
            account_name: r.get(1),
            currency: r.get(2),
            contracts: r.get(3),
            value: r.get(4),
        })
        .collect())
}

/// Executed contracts ending from `today` to `today + days`, soonest first (at most
/// 200).
pub async fn renewals(
    db: &TenantDb,
    principal: &Principal,
    today: NaiveDate,
    days: i32,
) -> Result<Vec<Renewal>, DomainError> {
    let sql = "select id, title, counterparty_id, end_date, auto_renew, \
               case when renewal_notice_days is not null then end_date - renewal_notice_days end, \
               value::text, currency \
               from contracts where status = 'executed' \
                 and end_date >= $1::date and end_date <= $1::date + $2::int \
               order by end_date, id limit 200";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[&today, &days])]).await?;
    Ok(results[0]
        .iter()
        .map(|r| Renewal {
            contract_id: r.get(0),
            title: r.get(1),
            account_id: r.get::<_, Option<Uuid>>(2),
            end_date: r.get(3),
            auto_renew: r.get(4),
            notice_date: r.get(5),
            value: r.get(6),
            currency: r.get(7),
        })
        .collect())
}

/// Overdue invoices by currency, with their balance by how late they are on `today`.
pub async fn overdue_invoices(
    db: &TenantDb,
    principal: &Principal,
    today: NaiveDate,
) -> Result<Vec<OverdueInvoices>, DomainError> {
    let sql = "select currency, count(*), sum(total - paid)::text, \
               coalesce(sum(total - paid) filter (where $1::date - due_date between 1 and 30), 0)::text, \
               coalesce(sum(total - paid) filter (where $1::date - due_date between 31 and 60), 0)::text, \
               coalesce(sum(total - paid) filter (where $1::date - due_date between 61 and 90), 0)::text, \
               coalesce(sum(total - paid) filter (where $1::date - due_date > 90), 0)::text \
               from invoices where status = 'overdue' group by currency order by currency";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[&today])]).await?;
    Ok(results[0]
        .iter()
        .map(|r| OverdueInvoices {
            currency: r.get(0),
            count: r.get(1),
            balance: r.get(2),
            days_1_30: r.get(3),
            days_31_60: r.get(4),
            days_61_90: r.get(5),
            days_over_90: r.get(6),
        })
        .collect())
}

/// SLA compliance of the cases opened since `since`, per priority (every priority,
/// with zeros when it had none), in one pass over the window.
pub async fn case_sla(
    db: &TenantDb,
    principal: &Principal,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<CaseSlaCompliance>, DomainError> {
    let sql = "select p.priority, count(c.id), \
               count(*) filter (where c.first_responded_at is not null and c.first_response_breached_at is null), \
               count(c.first_response_breached_at), \
               count(*) filter (where c.id is not null and c.first_responded_at is null and c.first_response_breached_at is null), \
               count(*) filter (where c.resolved_at is not null and c.resolution_breached_at is null), \
               count(c.resolution_breached_at), \
               count(*) filter (where c.id is not null and c.resolved_at is null and c.resolution_breached_at is null) \
               from case_sla_policies p left join cases c on c.priority = p.priority and c.created_at >= $1 \
               group by p.priority \
               order by array_position(array['low', 'normal', 'high', 'urgent'], p.priority)";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[&since])]).await?;
    let clock = |met: i64, breached: i64, running: i64| ClockCompliance {
        met,
        breached,
        running,
        compliance_percent: (met + breached > 0)
            .then(|| (met as f64 * 1000.0 / (met + breached) as f64).round() / 10.0),
    };
    Ok(results[0]
        .iter()
        .map(|r| CaseSlaCompliance {
            priority: r.get(0),
            opened: r.get(1),
            first_response: clock(r.get(2), r.get(3), r.get(4)),
            resolution: clock(r.get(5), r.get(6), r.get(7)),
        })
        .collect())
}
