//! Which tasks the obligations of a contract's texts make, and when they are due:
//! pure, so the dates (the effective date, the end date, today) come in. A single task
//! for an obligation with a date; a series for a recurring one.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::intelligence::obligations::{read, Obligation};

/// The most tasks one text of a contract makes.
const MAX_TASKS: usize = 200;

/// An obligation with a date, from the text of a file (or the body, `None`): a single
/// task, or one occurrence of a recurring one.
#[derive(Debug, Clone, PartialEq)]
pub struct Dated {
    pub attachment: Option<Uuid>,
    /// Tells the same task apart across texts: its file, party and action, and for an
    /// occurrence after a series' first, its number.
    pub key: String,
    pub obligation: Obligation,
    pub due: NaiveDate,
    /// `text` or `effective_date`.
    pub source: &'static str,
    pub series: Option<Occurrence>,
}

/// Where a task stands in the series of a recurring obligation.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// The obligation's key, shared by every occurrence.
    pub series_key: String,
    /// Periods after the anchor: 0 is the date the text states, 1 the first period
    /// after the effective date.
    pub number: i32,
    pub recurs: &'static str,
}

/// What dates the obligations of a contract are counted in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The contract's start and end dates, where known.
    pub effective: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    /// Occurrences of a series due before this day are not made.
    pub today: NaiveDate,
}

/// What [`dated`] found: the tasks, and the day their series should be read again
/// to make the occurrences past the horizon (none when every series ends in it).
#[derive(Debug, Default)]
pub struct Found {
    pub tasks: Vec<Dated>,
    pub read_again_on: Option<NaiveDate>,
}

/// How far ahead a series is made, and at most how many of its occurrences: the rest
/// follow as the days pass (see [`Found::read_again_on`]).
const HORIZON_DAYS: u64 = 366;
const MAX_AHEAD: usize = 12;

/// The length of a recurrence's period.
enum Period {
    Days(u64),
    Months(u32),
}

fn period(recurs: &str) -> Option<(&'static str, Period)> {
    Some(match recurs {
        "daily" => ("daily", Period::Days(1)),
        "weekly" => ("weekly", Period::Days(7)),
        "monthly" => ("monthly", Period::Months(1)),
        "quarterly" => ("quarterly", Period::Months(3)),
        "annually" => ("annually", Period::Months(12)),
        _ => return None,
    })
}

/// The `n`th date of a series from `anchor` (months keep the anchor's day, or the
/// month's last when it has fewer days).
fn nth(anchor: NaiveDate, period: &Period, n: u32) -> Option<NaiveDate> {
    match period {
        Period::Days(days) => anchor.checked_add_days(chrono::Days::new(days * u64::from(n))),
        Period::Months(months) => {
            anchor.checked_add_months(chrono::Months::new(months.checked_mul(n)?))
        }
    }
}

/// What a period is counted from when it is counted from the effective date, in the
/// languages obligations are read in.
fn from_effective_date(after: &str) -> bool {
    const ANCHORS: [&str; 12] = [
        "effective date",
        "commencement",
        "start date",
        "vertragsbeginn",
        "inkrafttreten",
        "beginn des vertrag",
        "date d'effet",
        "prise d'effet",
        "entrée en vigueur",
        "entrada en vigor",
        "fecha de inicio",
        "fecha de efecto",
    ];
    let after = after.to_lowercase().replace('’', "'");
    ANCHORS.iter().any(|anchor| after.contains(anchor))
}

/// The obligations of `texts` that have a date, once each, in order: the date the
/// sentence states, or its period counted from the effective date when it says so. A
/// recurring one ("a monthly report") is a series from that date, or from the
/// effective date one period on, up to the end date: its occurrences from `today`
/// to a year ahead (at most twelve; the first upcoming one at least).
pub fn dated<'a>(texts: impl Iterator<Item = (Option<Uuid>, &'a str)>, span: Span) -> Found {
    let mut found = Found::default();
    for (attachment, text) in texts {
        for obligation in read(text) {
            let Some(due) = obligation.due.clone() else {
                continue;
            };
            let stated = due
                .date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            let counted = match (due.within_days, due.after.as_deref(), span.effective) {
                (Some(days), Some(after), Some(start)) if from_effective_date(after) => {
                    start.checked_add_days(chrono::Days::new(u64::from(days)))
                }
                _ => None,
            };
            let first = match (stated, counted) {
                (Some(date), _) => Some((date, "text")),
                (None, Some(date)) => Some((date, "effective_date")),
                (None, None) => None,
            };
            let key = format!(
                "{}|{}|{}",
                attachment.map(|a| a.to_string()).unwrap_or_default(),
                normalised(&obligation.party),
                normalised(&obligation.action)
            );
            if found
                .tasks
                .iter()
                .any(|d| d.key == key || d.series.as_ref().is_some_and(|s| s.series_key == key))
            {
                continue;
            }
            let recurring = due.recurs.as_deref().and_then(period);
            // A series counts from the stated date (occurrence 0), or else from the
            // effective date one period on (occurrence 1).
            let anchor = match (first, span.effective) {
                (Some((date, source)), _) => Some(Anchor {
                    date,
                    first: 0,
                    source,
                }),
                (None, Some(date)) => Some(Anchor {
                    date,
                    first: 1,
                    source: "effective_date",
                }),
                (None, None) => None,
            };
            let occurrences = match (recurring, anchor, first) {
                (Some((recurs, period)), Some(anchor), _) => {
                    let (occurrences, again) = series(&key, recurs, &period, anchor, span);
                    found.read_again_on = match (found.read_again_on, again) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    occurrences
                }
                (None, _, Some((date, source))) => vec![(key.clone(), date, source, None)],
                _ => continue,
            };
            for (key, due, source, series) in occurrences {
                found.tasks.push(Dated {
                    attachment,
                    key,
                    obligation: obligation.clone(),
                    due,
                    source,
                    series,
                });
                if found.tasks.len() == MAX_TASKS {
                    return found;
                }
            }
        }
    }
    found
}

/// A task as [`dated`] makes it: key, due date, where the date came from, and its
/// place in a series.
type Task = (String, NaiveDate, &'static str, Option<Occurrence>);

/// Where a series counts from: its date, the number of the occurrence on it (plus
/// one per period after), and where the date came from.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    date: NaiveDate,
    first: u32,
    source: &'static str,
}

/// The occurrences of a series that are due from `span.today` to the horizon and not
/// after the end date, and, when the horizon or the count cut it short, the day after
/// its first: the day to read it again.
fn series(
    key: &str,
    recurs: &'static str,
    period: &Period,
    anchor: Anchor,
    span: Span,
) -> (Vec<Task>, Option<NaiveDate>) {
    let horizon = span
        .today
        .checked_add_days(chrono::Days::new(HORIZON_DAYS))
        .unwrap_or(NaiveDate::MAX);
    let mut out = Vec::new();
    let mut cut = false;
    // Bounded: a daily series anchored centuries back is skipped to today in steps.
    let Anchor {
        date: anchor,
        first,
        source,
    } = anchor;
    for n in first..first.saturating_add(200_000) {
        let Some(date) = nth(anchor, period, n) else {
            break;
        };
        if span.end.is_some_and(|end| date > end) {
            return (out, None);
        }
        if date < span.today {
            continue;
        }
        if !out.is_empty() && (date > horizon || out.len() == MAX_AHEAD) {
            cut = true;
            break;
        }
        // The first keeps the obligation's own key, so a task made before the
        // obligation was read as recurring goes on as its first occurrence.
        let task_key = if n == 0 {
            key.to_owned()
        } else {
            format!("{key}#{n}")
        };
        let Ok(number) = i32::try_from(n) else {
            break;
        };
        out.push((
            task_key,
            date,
            source,
            Some(Occurrence {
                series_key: key.to_owned(),
                number,
                recurs,
            }),
        ));
    }
    let again = out
        .first()
        .filter(|_| cut)
        .map(|(_, date, ..)| date.succ_opt().unwrap_or(*date));
    (out, again)
}

fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn stated_dates_and_periods_from_the_effective_date_make_tasks_once_each() {
        let text = "The Supplier shall deliver the migration plan by March 1, 2027. \
             Customer shall pay the set-up fee within 30 days of the Effective Date. \
             Customer shall pay each invoice within 30 days of receipt. \
             The Supplier shall deliver the migration plan by March 1, 2027. \
             Each party shall keep the other's information secret.";
        let span = Span {
            effective: Some(date("2027-01-15")),
            end: None,
            today: date("2026-12-01"),
        };
        let found = dated(std::iter::once((None, text)), span).tasks;
        let got: Vec<(&str, NaiveDate, &str)> = found
            .iter()
            .map(|d| (d.obligation.party.as_str(), d.due, d.source))
            .collect();
        assert_eq!(
            got,
            [
                ("The Supplier", date("2027-03-01"), "text"),
                ("Customer", date("2027-02-14"), "effective_date"),
            ]
        );
        // Without a start date, a period from it has no date yet.
        let span = Span {
            effective: None,
            ..span
        };
        let found = dated(std::iter::once((None, text)), span);
        assert_eq!(found.tasks.len(), 1);
        assert_eq!(found.read_again_on, None);
    }

    #[test]
    fn a_period_from_the_start_is_dated_in_each_language() {
        let span = Span {
            effective: Some(date("2027-01-15")),
            end: None,
            today: date("2026-12-01"),
        };
        for text in [
            "Der Kunde hat die Einrichtungsgebühr innerhalb von 30 Tagen nach Vertragsbeginn zu zahlen.",
            "Le Client s'engage à payer les frais dans un délai de 30 jours à compter de la date d'effet.",
            "El Cliente pagará la cuota dentro de los 30 días siguientes a la entrada en vigor.",
        ] {
            let found = dated(std::iter::once((None, text)), span).tasks;
            let got: Vec<(NaiveDate, &str)> = found.iter().map(|d| (d.due, d.source)).collect();
            assert_eq!(got, [(date("2027-02-14"), "effective_date")], "{text}");
        }
    }

    fn series_of(
        text: &str,
        span: Span,
    ) -> (Vec<(NaiveDate, i32, &'static str)>, Option<NaiveDate>) {
        let found = dated(std::iter::once((None, text)), span);
        let dates = found
            .tasks
            .iter()
            .map(|d| {
                let s = d.series.as_ref().expect("an occurrence");
                (d.due, s.number, s.recurs)
            })
            .collect();
        (dates, found.read_again_on)
    }

    #[test]
    fn a_recurring_obligation_is_a_series_from_the_effective_date_to_the_end_date() {
        let span = Span {
            effective: Some(date("2027-01-31")),
            end: Some(date("2027-06-30")),
            today: date("2026-12-01"),
        };
        let (monthly, again) = series_of("The Supplier shall send a monthly service report.", span);
        // One period after the start, the month's last day where it has fewer.
        assert_eq!(
            monthly,
            [
                (date("2027-02-28"), 1, "monthly"),
                (date("2027-03-31"), 2, "monthly"),
                (date("2027-04-30"), 3, "monthly"),
                (date("2027-05-31"), 4, "monthly"),
                (date("2027-06-30"), 5, "monthly"),
            ]
        );
        assert_eq!(again, None, "the end date ends it: nothing to read again");
        let (quarterly, _) = series_of("Customer shall review the account quarterly.", span);
        assert_eq!(quarterly, [(date("2027-04-30"), 1, "quarterly")]);
        // No start date and no date stated: nothing to count from.
        let (none, _) = series_of(
            "Customer shall review the account quarterly.",
            Span {
                effective: None,
                ..span
            },
        );
        assert!(none.is_empty());
    }

    #[test]
    fn an_open_ended_series_is_made_a_year_ahead_and_read_again_as_days_pass() {
        let span = Span {
            effective: Some(date("2020-01-15")),
            end: None,
            today: date("2026-12-01"),
        };
        // Occurrences already past are not made; a year ahead is.
        let (monthly, again) = series_of("The Supplier shall send a monthly report.", span);
        assert_eq!(monthly.len(), 12);
        assert_eq!(monthly[0], (date("2026-12-15"), 83, "monthly"));
        assert_eq!(monthly[11].0, date("2027-11-15"));
        assert_eq!(again, Some(date("2026-12-16")));
        // The day after, the series has moved on by one.
        let (later, _) = series_of(
            "The Supplier shall send a monthly report.",
            Span {
                today: date("2026-12-16"),
                ..span
            },
        );
        assert_eq!((later[0].1, later[11].1), (84, 95));
        // A series from a stated date starts on it, and keeps the obligation's own key.
        let found = dated(
            std::iter::once((
                None,
                "Customer shall pay the licence fee annually, by March 1, 2027.",
            )),
            span,
        );
        assert_eq!(found.tasks[0].due, date("2027-03-01"));
        assert_eq!(found.tasks[0].series.as_ref().unwrap().number, 0);
        assert_eq!(
            found.tasks[0].key,
            found.tasks[0].series.as_ref().unwrap().series_key
        );
        // A year ahead holds one occurrence of it; the next is made the day after.
        assert_eq!(found.tasks.len(), 1);
        assert_eq!(found.read_again_on, Some(date("2027-03-02")));
        let next = dated(
            std::iter::once((
                None,
                "Customer shall pay the licence fee annually, by March 1, 2027.",
            )),
            Span {
                today: date("2027-03-02"),
                ..span
            },
        );
        assert_eq!(next.tasks[0].due, date("2028-03-01"));
        assert_eq!(next.tasks[0].key, format!("{}#1", found.tasks[0].key));
        // A daily one is at most twelve ahead, even anchored long ago.
        let (daily, again) = series_of(
            "The Operator shall inspect the site daily.",
            Span {
                effective: Some(date("1901-01-01")),
                ..span
            },
        );
        assert_eq!(daily.len(), 12);
        assert_eq!(daily[0].0, date("2026-12-01"));
        assert_eq!(again, Some(date("2026-12-02")));
    }

    #[test]
    fn the_same_obligation_in_another_file_is_another_task() {
        let file = Uuid::new_v4();
        let text = "The Supplier shall deliver the plan by 1 March 2027.";
        let span = Span {
            effective: None,
            end: None,
            today: date("2026-12-01"),
        };
        let found = dated([(None, text), (Some(file), text)].into_iter(), span).tasks;
        assert_eq!(found.len(), 2);
        assert_ne!(found[0].key, found[1].key);
        assert_eq!(found[1].attachment, Some(file));
    }
}
