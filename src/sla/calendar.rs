//! The tenant's business calendar, stored: the working week, its zone and holidays
//! that SLA deadlines are counted in ([`crate::kernel::business_time`]). Everyone in
//! the tenant reads it; admins set it.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::audit;
use crate::kernel::business_time::BusinessCalendar;
use crate::kernel::{unit, Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

/// Holidays a calendar may list.
pub const MAX_HOLIDAYS: usize = 2000;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// A business calendar as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    /// An IANA time zone, e.g. `Europe/Paris`.
    #[schema(max_length = 64)]
    pub timezone: String,
    /// `mon` to `sun`.
    #[schema(min_items = 1, max_items = 7)]
    pub working_days: Vec<String>,
    /// Opening time, `HH:MM`.
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub start: String,
    /// Closing time, `HH:MM`, after `start`.
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub end: String,
    /// Dates (`YYYY-MM-DD`) that are not working days.
    #[schema(max_items = 2000)]
    pub holidays: Vec<String>,
}

/// The calendar in effect. Its own type rather than the body flattened: the body
/// refuses unknown fields, and a schema that does cannot describe `configured` too.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    pub timezone: String,
    pub working_days: Vec<String>,
    pub start: String,
    pub end: String,
    pub holidays: Vec<String>,
    /// False while the tenant has not set one (this is the default).
    pub configured: bool,
}

impl CalendarView {
    fn of(calendar: CalendarBody, configured: bool) -> Self {
        Self {
            timezone: calendar.timezone,
            working_days: calendar.working_days,
            start: calendar.start,
            end: calendar.end,
            holidays: calendar.holidays,
            configured,
        }
    }

    fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "timezone": self.timezone, "working_days": self.working_days,
            "start": self.start, "end": self.end, "holidays": self.holidays,
        })
    }
}

/// Checked, in the types the store and the computation use.
struct Checked {
    zone: Tz,
    days: Vec<i16>,
    start: NaiveTime,
    end: NaiveTime,
    holidays: Vec<NaiveDate>,
}

fn check(body: &CalendarBody) -> Result<Checked, DomainError> {
    let zone = Tz::from_str(&body.timezone).map_err(|_| {
        DomainError::invalid(format!(
            "timezone: {:?} is not an IANA time zone such as Europe/Paris",
            body.timezone.chars().take(64).collect::<String>()
        ))
    })?;
    if body.working_days.is_empty() || body.working_days.len() > 7 {
        return Err(DomainError::invalid(
            "working_days: 1 to 7 of mon, tue, wed, thu, fri, sat, sun",
        ));
    }
    let mut days = Vec::new();
    for day in &body.working_days {
        let (_, weekday) = DAYS.iter().find(|(name, _)| name == day).ok_or_else(|| {
            DomainError::invalid("working_days: each is one of mon, tue, wed, thu, fri, sat, sun")
        })?;
        let number = weekday.number_from_monday() as i16;
        if days.contains(&number) {
            return Err(DomainError::invalid(format!(
                "working_days: {day} is listed twice"
            )));
        }
        days.push(number);
    }
    days.sort_unstable();
    let time = |field: &str, text: &str| {
        crate::kernel::validate::hh_mm(text)
            .ok_or_else(|| DomainError::invalid(format!("{field}: expected HH:MM, e.g. 09:00")))
    };
    let (start, end) = (time("start", &body.start)?, time("end", &body.end)?);
    if end <= start {
        return Err(DomainError::invalid("end: must be after start"));
    }
    if body.holidays.len() > MAX_HOLIDAYS {
        return Err(DomainError::invalid(format!(
            "holidays: at most {MAX_HOLIDAYS}"
        )));
    }
    let mut holidays = Vec::with_capacity(body.holidays.len());
    for (i, text) in body.holidays.iter().enumerate() {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|d| text.len() == 10 && (1900..=2200).contains(&d.year()))
            .ok_or_else(|| {
                DomainError::invalid(format!("holidays[{i}]: expected a date YYYY-MM-DD"))
            })?;
        holidays.push(date);
    }
    holidays.sort_unstable();
    holidays.dedup();
    Ok(Checked {
        zone,
        days,
        start,
        end,
        holidays,
    })
}

fn default_body() -> CalendarBody {
    CalendarBody {
        timezone: "UTC".into(),
        working_days: ["mon", "tue", "wed", "thu", "fri"]
            .map(String::from)
            .to_vec(),
        start: "09:00".into(),
        end: "17:00".into(),
        holidays: Vec::new(),
    }
}

async fn stored(tx: &TenantTx) -> Result<Option<CalendarBody>, DomainError> {
    let row = tx
        .query_opt(
            "select timezone, working_days, day_start, day_end, holidays from business_calendar",
            &[],
        )
        .await?;
    Ok(row.map(|row| {
        let days: Vec<i16> = row.get(1);
        let start: NaiveTime = row.get(2);
        let end: NaiveTime = row.get(3);
        let holidays: Vec<NaiveDate> = row.get(4);
        CalendarBody {
            timezone: row.get(0),
            working_days: days
                .iter()
                .filter_map(|n| {
                    DAYS.get(usize::try_from(*n - 1).ok()?)
                        .map(|(name, _)| (*name).to_owned())
                })
                .collect(),
            start: start.format("%H:%M").to_string(),
            end: end.format("%H:%M").to_string(),
            holidays: holidays.iter().map(|d| d.to_string()).collect(),
        }
    }))
}

pub async fn get(tx: &TenantTx, actor: &Actor) -> Result<CalendarView, DomainError> {
    actor.require(Role::Viewer)?;
    Ok(match stored(tx).await? {
        Some(calendar) => CalendarView::of(calendar, true),
        None => CalendarView::of(default_body(), false),
    })
}

/// Sets the calendar (admins). Audited with what changed.
pub async fn put(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: CalendarBody,
) -> Result<CalendarView, DomainError> {
    let checked = check(&body)?;
    actor.require(Role::Admin)?;
    let business = BusinessCalendar::new(
        checked.zone,
        &checked
            .days
            .iter()
            .filter_map(|n| DAYS.get(usize::try_from(*n - 1).ok()?).map(|(_, day)| *day))
            .collect::<Vec<_>>(),
        checked.start,
        checked.end,
        checked.holidays.clone(),
    )
    .map_err(|e| DomainError::invalid(e.to_string()))?;
    // Deadlines of running and future stages come from this calendar: one with no
    // working time ahead (holidays over decades) could give none.
    if let Err(error) = deadline(&business, unit::now(tx), 1.0) {
        return Err(DomainError::invalid(format!("holidays: {error}")));
    }
    let old = get(tx, actor).await?;
    tx.execute(
        "insert into business_calendar (id, timezone, working_days, day_start, day_end, holidays, updated_at) \
         values (true, $1, $2, $3, $4, $5, $6) \
         on conflict (id) do update set timezone = excluded.timezone, \
             working_days = excluded.working_days, day_start = excluded.day_start, \
             day_end = excluded.day_end, holidays = excluded.holidays, updated_at = excluded.updated_at",
        &[
            &checked.zone.name(),
            &checked.days,
            &checked.start,
            &checked.end,
            &checked.holidays,
            &unit::now(tx),
        ],
    )
    .await
    .map_err(DomainError::write)?;
    let new = get(tx, actor).await?;
    audit::record_settings_update(
        tx,
        actor,
        origin,
        "business_calendar",
        &old.body(),
        &new.body(),
    )
    .await?;
    Ok(new)
}

/// The calendar deadlines are computed in (the default when none is set).
/// The instant `hours` of business time after `from`, or why there is none.
pub fn deadline(
    business: &BusinessCalendar,
    from: chrono::DateTime<chrono::Utc>,
    hours: f64,
) -> Result<chrono::DateTime<chrono::Utc>, crate::kernel::business_time::CalendarError> {
    business.add(
        from,
        chrono::Duration::minutes((hours * 60.0).round() as i64),
    )
}

pub async fn load(tx: &TenantTx) -> Result<BusinessCalendar, DomainError> {
    let body = stored(tx).await?.unwrap_or_else(default_body);
    let checked = check(&body)?;
    let days: Vec<Weekday> = checked
        .days
        .iter()
        .filter_map(|n| DAYS.get(usize::try_from(*n - 1).ok()?).map(|(_, day)| *day))
        .collect();
    BusinessCalendar::new(
        checked.zone,
        &days,
        checked.start,
        checked.end,
        checked.holidays,
    )
    .map_err(|e| DomainError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(edit: impl FnOnce(&mut CalendarBody)) -> CalendarBody {
        let mut body = default_body();
        edit(&mut body);
        body
    }

    #[test]
    fn a_calendar_is_checked_field_by_field() {
        assert!(check(&default_body()).is_ok());
        for (bad, says) in [
            (body(|b| b.timezone = "Mars/Base".into()), "timezone"),
            (body(|b| b.working_days = vec![]), "working_days"),
            (
                body(|b| b.working_days = vec!["monday".into()]),
                "working_days",
            ),
            (
                body(|b| b.working_days = vec!["mon".into(), "mon".into()]),
                "twice",
            ),
            (body(|b| b.start = "9am".into()), "start"),
            (body(|b| b.end = "08:00".into()), "after start"),
            (body(|b| b.start = "24:00".into()), "start"),
            (
                body(|b| b.holidays = vec!["2026-02-30".into()]),
                "holidays[0]",
            ),
            (
                body(|b| b.holidays = vec!["1066-10-14".into()]),
                "holidays[0]",
            ),
            (
                body(|b| b.holidays = vec!["2026-12-25".into(); 2001]),
                "at most",
            ),
        ] {
            let error = check(&bad).err().unwrap().to_string();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }
}
