//! Business time: a tenant's working week in its time zone, less its holidays. An SLA
//! of "48 business hours" is a deadline computed here, and whether a decision came in
//! time is the business time elapsed between two instants. Pure: no clock, no I/O; the
//! caller passes the instants (from its injected clock).
//!
//! Working hours are wall-clock times in the calendar's zone, so a deadline stays at
//! 10:00 local across a daylight-saving change; a window that a change makes shorter
//! or longer (a working day that starts in a skipped hour) counts the real time in it.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// The longest a search for working time looks ahead; a calendar whose holidays leave
/// no working day in that span has no deadline to give.
const HORIZON_DAYS: i64 = 366 * 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("a calendar needs at least one working day")]
    NoWorkingDays,
    #[error("working hours must end after they start ({start} to {end})")]
    EmptyHours { start: NaiveTime, end: NaiveTime },
    #[error("no working time within 20 years of {0}")]
    NoWorkingTime(DateTime<Utc>),
}

/// A working week (the same hours on every working day), a zone and holidays.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    zone: Tz,
    working_days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    pub fn new(
        zone: Tz,
        working_days: &[Weekday],
        start: NaiveTime,
        end: NaiveTime,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        if working_days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        if end <= start {
            return Err(CalendarError::EmptyHours { start, end });
        }
        let mut days = [false; 7];
        for day in working_days {
            days[day.num_days_from_monday() as usize] = true;
        }
        Ok(Self {
            zone,
            working_days: days,
            start,
            end,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// Monday to Friday, 09:00 to 17:00, in `zone`, no holidays.
    pub fn office_hours(zone: Tz) -> Self {
        use Weekday::*;
        Self::new(
            zone,
            &[Mon, Tue, Wed, Thu, Fri],
            NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
            [],
        )
        .expect("a valid calendar")
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_days[date.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains(&date)
    }

    /// The working window of a local date, as instants, if it is a working day.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(date) {
            return None;
        }
        let start = self.instant(date, self.start);
        let end = self.instant(date, self.end);
        (end > start).then_some((start, end))
    }

    /// A wall-clock time of a date in the zone: the earlier of an ambiguous time, and
    /// for a time that a change skips, the moment the clocks jump to.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => {
                // Skipped hours are at most a couple of hours long.
                let mut probe = local;
                loop {
                    probe += Duration::minutes(15);
                    if let Some(at) = self.zone.from_local_datetime(&probe).earliest() {
                        break at.with_timezone(&Utc);
                    }
                }
            }
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    /// The instant `amount` of business time after `from`. Zero is `from` itself.
    pub fn add(
        &self,
        from: DateTime<Utc>,
        amount: Duration,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if amount <= Duration::zero() {
            return Ok(from);
        }
        let mut remaining = amount;
        // The day before, too: a window that ends after midnight UTC belongs to it.
        let first = self.local_date(from) - Duration::days(1);
        for offset in 0..HORIZON_DAYS {
            let date = first + Duration::days(offset);
            let Some((start, end)) = self.window(date) else {
                continue;
            };
            let start = start.max(from);
            if start >= end {
                continue;
            }
            let available = end - start;
            if remaining <= available {
                return Ok(start + remaining);
            }
            remaining -= available;
        }
        Err(CalendarError::NoWorkingTime(from))
    }

    /// Business time between two instants (zero when `to` is not after `from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let mut date = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to);
        while date <= last {
            if let Some((start, end)) = self.window(date) {
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += end - start;
                }
            }
            date += Duration::days(1);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;
    use chrono_tz::UTC;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn hours(n: i64) -> Duration {
        Duration::hours(n)
    }

    #[test]
    fn a_deadline_skips_the_weekend() {
        let calendar = BusinessCalendar::office_hours(UTC);
        // Friday 2026-11-27 16:00 + 2 h: one hour on Friday, one on Monday.
        assert_eq!(
            calendar.add(utc("2026-11-27T16:00:00Z"), hours(2)).unwrap(),
            utc("2026-11-30T10:00:00Z")
        );
        // Started on a Saturday, the clock starts on Monday at 09:00.
        assert_eq!(
            calendar.add(utc("2026-11-28T12:00:00Z"), hours(3)).unwrap(),
            utc("2026-11-30T12:00:00Z")
        );
        // Before opening on a working day, it starts at opening.
        assert_eq!(
            calendar.add(utc("2026-11-30T06:00:00Z"), hours(1)).unwrap(),
            utc("2026-11-30T10:00:00Z")
        );
    }

    #[test]
    fn a_deadline_skips_a_holiday() {
        use Weekday::*;
        let calendar = BusinessCalendar::new(
            UTC,
            &[Mon, Tue, Wed, Thu, Fri],
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            [date("2026-11-30")],
        )
        .unwrap();
        // Friday 16:00 + 2 h, Monday a holiday: Tuesday 10:00.
        assert_eq!(
            calendar.add(utc("2026-11-27T16:00:00Z"), hours(2)).unwrap(),
            utc("2026-12-01T10:00:00Z")
        );
        assert!(!calendar.is_working_day(date("2026-11-30")));
        assert!(calendar.is_working_day(date("2026-12-01")));
    }

    #[test]
    fn forty_eight_business_hours_are_six_working_days() {
        let calendar = BusinessCalendar::office_hours(UTC);
        // Monday 09:00 + 48 h of 8-hour days: the next Monday at 17:00.
        assert_eq!(
            calendar
                .add(utc("2026-11-30T09:00:00Z"), hours(48))
                .unwrap(),
            utc("2026-12-07T17:00:00Z")
        );
    }

    #[test]
    fn hours_are_wall_clock_in_the_zone_across_a_daylight_saving_change() {
        let calendar = BusinessCalendar::office_hours(Paris);
        // Friday 2026-03-27 16:00 in Paris (CET, 15:00 UTC) + 2 h: Monday 30 March 10:00
        // in Paris, which is summer time by then (CEST, 08:00 UTC).
        assert_eq!(
            calendar.add(utc("2026-03-27T15:00:00Z"), hours(2)).unwrap(),
            utc("2026-03-30T08:00:00Z")
        );
    }

    #[test]
    fn elapsed_business_time_counts_only_working_hours() {
        let calendar = BusinessCalendar::office_hours(UTC);
        assert_eq!(
            calendar.between(utc("2026-11-27T16:00:00Z"), utc("2026-11-30T10:00:00Z")),
            hours(2)
        );
        assert_eq!(
            calendar.between(utc("2026-11-28T00:00:00Z"), utc("2026-11-29T23:59:00Z")),
            Duration::zero(),
            "a weekend has none"
        );
        assert_eq!(
            calendar.between(utc("2026-11-30T10:00:00Z"), utc("2026-11-30T09:00:00Z")),
            Duration::zero()
        );
        // add and between agree.
        let from = utc("2026-11-26T13:17:00Z");
        let deadline = calendar.add(from, Duration::minutes(1_000)).unwrap();
        assert_eq!(calendar.between(from, deadline), Duration::minutes(1_000));
    }

    #[test]
    fn a_window_that_crosses_midnight_utc_is_counted_whole() {
        // 09:00-17:00 in Auckland is 20:00-04:00 UTC the day before (summer, +13).
        let calendar = BusinessCalendar::office_hours(chrono_tz::Pacific::Auckland);
        // Monday 2026-11-30 09:00 local = Sunday 20:00 UTC; + 8 h = 17:00 local.
        assert_eq!(
            calendar.add(utc("2026-11-29T20:00:00Z"), hours(8)).unwrap(),
            utc("2026-11-30T04:00:00Z")
        );
    }

    #[test]
    fn invalid_calendars_and_impossible_deadlines_are_refused() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        assert_eq!(
            BusinessCalendar::new(UTC, &[], nine, nine, []).unwrap_err(),
            CalendarError::NoWorkingDays
        );
        assert!(matches!(
            BusinessCalendar::new(UTC, &[Weekday::Mon], nine, nine, []),
            Err(CalendarError::EmptyHours { .. })
        ));
        // Every Monday for 21 years a holiday: no working time within the horizon.
        let mondays = (0..(21 * 53)).map(|week| date("2026-11-30") + Duration::weeks(week));
        let calendar = BusinessCalendar::new(
            UTC,
            &[Weekday::Mon],
            nine,
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            mondays,
        )
        .unwrap();
        assert!(matches!(
            calendar.add(utc("2026-11-29T00:00:00Z"), hours(1)),
            Err(CalendarError::NoWorkingTime(_))
        ));
        assert_eq!(
            calendar
                .add(utc("2026-11-29T00:00:00Z"), Duration::zero())
                .unwrap(),
            utc("2026-11-29T00:00:00Z")
        );
    }
}
