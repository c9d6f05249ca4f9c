//! Invoice numbers: a format per tenant (`INV-{YYYY}-{NNNN}`) and the period its
//! counter runs in (a year when the format shows one, a month when it shows both, else
//! forever). Pure: the counter itself is a row the creating transaction updates.

use chrono::{Datelike, NaiveDate};

use crate::kernel::DomainError;

/// A checked number format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Year4,
    Year2,
    Month,
    /// The counter, zero-padded to this many digits.
    Counter(usize),
}

impl NumberFormat {
    /// `{YYYY}`, `{YY}`, `{MM}` and one `{N...}` (1 to 10 `N`s: the least digits shown)
    /// among letters, digits and `- / _ .`; `{MM}` only beside a year, so a counter
    /// never restarts into numbers an earlier year already used.
    pub fn parse(format: &str) -> Result<Self, DomainError> {
        let refuse = |why: &str| {
            Err(DomainError::invalid(format!(
                "number_format {why}: use letters, digits, '-', '/', '_', '.', {{YYYY}} or {{YY}}, {{MM}} and one {{NNNN}}"
            )))
        };
        if format.is_empty() || format.chars().count() > 50 {
            return refuse("must be 1 to 50 characters");
        }
        let mut pieces = Vec::new();
        let mut rest = format;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let Some((token, tail)) = after.split_once('}') else {
                    return refuse("has an unclosed '{'");
                };
                pieces.push(match token {
                    "YYYY" => Piece::Year4,
                    "YY" => Piece::Year2,
                    "MM" => Piece::Month,
                    n if !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b == b'N') => {
                        Piece::Counter(n.len())
                    }
                    _ => return refuse("has an unknown {token}"),
                });
                rest = tail;
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let text = &rest[..end];
                if !text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-/_.".contains(c))
                {
                    return refuse("has a character it may not");
                }
                pieces.push(Piece::Text(text.to_owned()));
                rest = &rest[end..];
            }
        }
        let counters = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Counter(_)))
            .count();
        if counters != 1 {
            return refuse("needs exactly one counter");
        }
        let year = pieces
            .iter()
            .any(|p| matches!(p, Piece::Year4 | Piece::Year2));
        if pieces.contains(&Piece::Month) && !year {
            return refuse("shows {MM} without a year");
        }
        Ok(Self { pieces })
    }

    /// The counter's period for an invoice issued on `date`: `2026`, `2026-12` or `all`.
    pub fn period(&self, date: NaiveDate) -> String {
        let year = self
            .pieces
            .iter()
            .any(|p| matches!(p, Piece::Year4 | Piece::Year2));
        match (year, self.pieces.contains(&Piece::Month)) {
            (true, true) => format!("{:04}-{:02}", date.year(), date.month()),
            (true, false) => format!("{:04}", date.year()),
            _ => "all".to_owned(),
        }
    }

    /// The number `counter` of the period `date` falls in.
    pub fn render(&self, date: NaiveDate, counter: i32) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Year4 => format!("{:04}", date.year()),
                Piece::Year2 => format!("{:02}", date.year() % 100),
                Piece::Month => format!("{:02}", date.month()),
                Piece::Counter(width) => format!("{counter:0width$}"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn numbers_follow_the_format_and_counters_run_per_period() {
        let yearly = NumberFormat::parse("INV-{YYYY}-{NNNN}").unwrap();
        assert_eq!(yearly.render(date("2026-12-01"), 7), "INV-2026-0007");
        assert_eq!(
            yearly.render(date("2026-12-01"), 123_456),
            "INV-2026-123456"
        );
        assert_eq!(yearly.period(date("2026-12-01")), "2026");
        let monthly = NumberFormat::parse("{YY}{MM}/{NNN}").unwrap();
        assert_eq!(monthly.render(date("2027-01-05"), 12), "2701/012");
        assert_eq!(monthly.period(date("2027-01-05")), "2027-01");
        let forever = NumberFormat::parse("F{N}").unwrap();
        assert_eq!(forever.render(date("2027-01-05"), 12), "F12");
        assert_eq!(forever.period(date("2027-01-05")), "all");
    }

    #[test]
    fn formats_that_could_repeat_or_break_are_refused() {
        for bad in [
            "",
            "INV",
            "{NNNN}{NN}",
            "{MM}-{NNN}",
            "INV {NNN}",
            "{YYYY",
            "{DD}-{NN}",
            "{NNNNNNNNNNN}",
            "<{NN}>",
        ] {
            assert!(NumberFormat::parse(bad).is_err(), "{bad:?}");
        }
    }
}
