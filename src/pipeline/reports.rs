//! The pipeline seen whole: the board (stages with their deals and totals) and the
//! weighted forecast by month. Reads only, each one round trip.

use chrono::NaiveDate;

use super::model::*;
use crate::kernel::reads::read_as;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// The board: every stage in order with its count, totals per currency (weighted by
/// the stage's probability) and its 50 largest deals, in one round trip.
pub async fn board(db: &TenantDb, principal: &Principal) -> Result<Vec<BoardColumn>, DomainError> {
    let stages =
        format!("select {STAGE_COLUMNS}, position from pipeline_stages order by position, key");
    let totals = "select o.stage, o.currency, count(*), sum(o.amount)::text, \
                  round(sum(o.amount) * s.probability / 100, 2)::text \
                  from opportunities o join pipeline_stages s on s.key = o.stage \
                  group by o.stage, o.currency, s.probability order by o.stage, o.currency";
    let largest = format!(
        "select {COLUMNS} from pipeline_stages s cross join lateral \
         (select * from opportunities o where o.stage = s.key order by o.amount desc, o.id limit 50) o \
         order by s.position, o.amount desc, o.id"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&stages, &[]), (totals, &[]), (&largest, &[])],
    )
    .await?;
    let mut columns: Vec<BoardColumn> = results[0]
        .iter()
        .map(|row| BoardColumn {
            stage: Stage::from(row),
            count: 0,
            totals: Vec::new(),
            opportunities: Vec::new(),
        })
        .collect();
    let column =
        |columns: &mut Vec<BoardColumn>, key: &str| columns.iter().position(|c| c.stage.key == key);
    for row in &results[1] {
        if let Some(at) = column(&mut columns, row.get(0)) {
            columns[at].count += row.get::<_, i64>(2);
            columns[at].totals.push(CurrencyTotal {
                currency: row.get(1),
                amount: row.get(3),
                weighted: row.get(4),
            });
        }
    }
    for row in &results[2] {
        let view = OpportunityView::from(row);
        if let Some(at) = column(&mut columns, &view.stage) {
            columns[at].opportunities.push(view);
        }
    }
    Ok(columns)
}

/// The weighted forecast: open and won deals expected to close in each month from
/// `from` on, for `months` months, per currency.
pub async fn forecast(
    db: &TenantDb,
    principal: &Principal,
    from: NaiveDate,
    months: i32,
) -> Result<Vec<ForecastMonth>, DomainError> {
    let sql = "select to_char(o.expected_close_date, 'YYYY-MM'), o.currency, count(*), \
               sum(o.amount)::text, round(sum(o.amount * s.probability) / 100, 2)::text, \
               coalesce(sum(o.amount) filter (where s.outcome = 'won'), 0)::text \
               from opportunities o join pipeline_stages s on s.key = o.stage \
               where s.outcome <> 'lost' and o.expected_close_date >= $1 \
                 and o.expected_close_date < ($1 + make_interval(months => $2))::date \
               group by 1, 2 order by 1, 2";
    let (_, results) = read_as(db, principal, Role::Viewer, &[(sql, &[&from, &months])]).await?;
    Ok(results[0]
        .iter()
        .map(|row| ForecastMonth {
            month: row.get(0),
            currency: row.get(1),
            count: row.get(2),
            amount: row.get(3),
            weighted: row.get(4),
            won: row.get(5),
        })
        .collect())
}
