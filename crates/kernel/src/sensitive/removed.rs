//! What a redacted copy took out, matched again in other texts: masking what hangs off
//! a redacted contract (a comment, a task's title) for the readers its copy stands in
//! for.

use std::collections::{HashMap, HashSet};

use regex::{Regex, RegexBuilder};

use super::{found_spans, Custom, Taken};

/// What a redacted copy took out of its source, to take the same out of another text
/// (a comment on the contract) for a reader the copy stands in for.
pub struct Removed {
    /// Each removed text and the words of it that give it away alone (see
    /// [`Removed::new`]), matched case-blind, any run of spaces as any other, and as a
    /// whole word where it begins or ends with a letter or digit.
    literal: Option<Regex>,
    /// The kind of each removed text, by its folded form.
    kind_of: HashMap<String, String>,
    /// The kinds the copy redacted: what [`find`](super::find) finds of these is
    /// masked too.
    kinds: HashSet<String>,
    /// The tenant's patterns whose matches the copy redacted.
    patterns: Vec<Custom>,
}

/// The most a pattern of removed texts may compile to.
const REMOVED_SIZE_LIMIT: usize = 64 << 20;

fn folded(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The words of a removed text that can stand for it alone: three characters or more,
/// trimmed of the punctuation around them, folded.
fn words_of(folded_text: &str) -> impl Iterator<Item = &str> {
    folded_text
        .split(' ')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(move |w| w.chars().count() >= 3 && *w != folded_text)
}

/// Of the words of `removed` texts other than names, those with a letter that the copy
/// `shows` nowhere: each gives its text away alone ("Zebrafish" of "Project Zebrafish",
/// when "project" is said elsewhere in the copy), while a word the reader reads in the
/// copy anyway tells them nothing. Sorted, each once. Worked out once, when the copy
/// is made, so that masking never needs the copy's text.
pub fn telling_words(removed: &[(String, String, Option<String>)], shows: &str) -> Vec<String> {
    let shown: HashSet<String> = shows
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut telling: Vec<String> = removed
        .iter()
        .filter(|(_, kind, _)| kind != "name")
        .flat_map(|(text, _, _)| {
            let text = folded(text);
            words_of(&text)
                .filter(|w| w.chars().any(char::is_alphabetic) && !shown.contains(*w))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    telling.sort_unstable();
    telling.dedup();
    telling
}

impl Removed {
    /// From each removed `(text, kind, label)`, the [`telling_words`] of the copy, and
    /// the tenant's patterns (those a removed custom text's label names are kept). A
    /// removed text is also matched by each of its words that can stand for it: every
    /// word of a name (a person is named by either half, "Zoë" and "Lindqvist" alone),
    /// and of other texts each telling word. `None` when the texts are too many to match
    /// at once: the caller then shows nothing rather than too much.
    pub fn new(
        removed: &[(String, String, Option<String>)],
        telling: &[String],
        patterns: Vec<Custom>,
    ) -> Option<Self> {
        let telling: HashSet<&str> = telling.iter().map(String::as_str).collect();
        let mut kind_of = HashMap::new();
        let mut kinds = HashSet::new();
        let mut labels = HashSet::new();
        for (text, kind, label) in removed {
            kinds.insert(kind.clone());
            if kind == "custom" {
                labels.extend(label.clone());
            }
            let text = folded(text);
            for part in words_of(&text) {
                if kind == "name" || telling.contains(part) {
                    kind_of
                        .entry(part.to_owned())
                        .or_insert_with(|| kind.clone());
                }
            }
            if !text.is_empty() {
                kind_of.entry(text).or_insert_with(|| kind.clone());
            }
        }
        let mut texts: Vec<&String> = kind_of.keys().collect();
        // Longest first, so that "Ann Smith" wins over "Ann".
        texts.sort_by_key(|t| (std::cmp::Reverse(t.len()), t.as_str()));
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let alternatives: Vec<String> = texts
            .iter()
            .map(|text| {
                let escaped: Vec<String> = text.split(' ').map(regex::escape).collect();
                format!(
                    "{}{}{}",
                    if word(text.chars().next()) { r"\b" } else { "" },
                    escaped.join(r"\s+"),
                    if word(text.chars().next_back()) {
                        r"\b"
                    } else {
                        ""
                    },
                )
            })
            .collect();
        let literal = if alternatives.is_empty() {
            None
        } else {
            Some(
                RegexBuilder::new(&format!("(?:{})", alternatives.join("|")))
                    .case_insensitive(true)
                    .size_limit(REMOVED_SIZE_LIMIT)
                    .build()
                    .ok()?,
            )
        };
        Some(Self {
            literal,
            kind_of,
            kinds,
            patterns: patterns
                .into_iter()
                .filter(|p| labels.contains(&p.name))
                .collect(),
        })
    }

    /// `text` with every removed text in it, and everything [`find`](super::find) finds of the
    /// kinds the copy redacted, replaced by `[redacted: kind]`.
    pub fn mask(&self, text: &str) -> String {
        let mut taken = Taken::default();
        if let Some(literal) = &self.literal {
            for m in literal.find_iter(text) {
                let kind = self
                    .kind_of
                    .get(&folded(m.as_str()))
                    .map_or("name", String::as_str);
                taken.take(m.start(), m.end(), kind, None);
            }
        }
        for (start, (end, kind, _)) in found_spans(text, None, &self.patterns).0 {
            if self.kinds.contains(kind) {
                taken.take(start, end, kind, None);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut from = 0;
        for (start, (end, kind, _)) in taken.0 {
            out.push_str(&text[from..start]);
            out.push_str(&format!("[redacted: {kind}]"));
            from = end;
        }
        out.push_str(&text[from..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::compile;
    use super::*;

    #[test]
    fn a_comment_loses_what_the_copy_removed_and_more_of_its_kinds() {
        let removed = [
            ("Zoë Lindqvist".to_owned(), "name".to_owned(), None),
            ("zoe@example.com".to_owned(), "email".to_owned(), None),
            ("+44 20 7946 0958".to_owned(), "phone".to_owned(), None),
            (
                "MAT-0042".to_owned(),
                "custom".to_owned(),
                Some("matter".to_owned()),
            ),
        ];
        let patterns = vec![
            Custom {
                name: "matter".into(),
                regex: compile(r"MAT-[0-9]{4}").unwrap(),
            },
            Custom {
                name: "unused".into(),
                regex: compile(r"Zoëlle").unwrap(),
            },
        ];
        let telling = telling_words(&removed, "Shown: the matter of");
        let removed = Removed::new(&removed, &telling, patterns).unwrap();
        assert_eq!(
            removed.mask(
                "Ask ZOË\n lindqvist at zoe@example.com or zoe.l@other.example, call \
                 +44 20 7946 0958 about MAT-0042 and MAT-0043; Zoëlle is someone else, \
                 IBAN GB82 WEST 1234 5698 7654 32 stays. Zoë said so."
            ),
            "Ask [redacted: name] at [redacted: email] or [redacted: email], call \
             [redacted: phone] about [redacted: custom] and [redacted: custom]; Zoëlle is \
             someone else, IBAN GB82 WEST 1234 5698 7654 32 stays. [redacted: name] said so."
        );
        // Nothing removed: the text is served as it is.
        let none = Removed::new(&[], &[], vec![]).unwrap();
        assert_eq!(none.mask("zoe@example.com"), "zoe@example.com");
    }

    #[test]
    fn a_word_of_a_removed_text_gives_it_away_unless_the_copy_shows_it() {
        let removed = [
            (
                "Project Zebrafish".to_owned(),
                "custom".to_owned(),
                Some("codename".to_owned()),
            ),
            (
                "Flat 4, 221B Baker St.".to_owned(),
                "custom".to_owned(),
                None,
            ),
            ("GB82 WEST 1234".to_owned(), "iban".to_owned(), None),
        ];
        let shows = "[redacted: custom] is the project the team runs from \
                     [redacted: custom]; the flat is let.";
        let telling = telling_words(&removed, shows);
        assert_eq!(telling, ["221b", "baker", "gb82", "west", "zebrafish"]);
        let removed = Removed::new(&removed, &telling, vec![]).unwrap();
        assert_eq!(
            removed.mask(
                "Zebrafish slips, the project is late; BAKER street and the flat, \
                 on the WEST side, 221b, 1234. Zebrafishes are fish."
            ),
            "[redacted: custom] slips, the project is late; [redacted: custom] street \
             and the flat, on the [redacted: iban] side, [redacted: custom], 1234. \
             Zebrafishes are fish."
        );
    }
}
