//! Cutting a text into passages the model reads whole. A contract's unit of meaning is
//! its clause, usually a paragraph or a line of its own: each becomes a passage, a
//! heading too short to mean much ("12. Governing law") joins the text that follows
//! it, and a paragraph longer than the model reads is cut at sentence ends into
//! passages that overlap by a sentence, or by a window of words when one sentence is
//! itself too long. Offsets are in characters, as everywhere in the API.

/// A passage shorter than this (in words) joins the next one: a heading, a number.
const MIN_WORDS: usize = 8;
/// The longest passage, in words: about 180 tokens for English legal text, under the
/// model's 256 with room for long words split into pieces.
pub const MAX_WORDS: usize = 140;
/// Words a window repeats from the one before, when a single sentence is cut.
const OVERLAP_WORDS: usize = 20;
/// The most passages kept of one text (a million-character body makes about 1,500).
pub const MAX_PASSAGES: usize = 5_000;

/// A part of a text, by its position in characters (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// A span of the text by byte offsets, before the offsets become characters.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The passages of `text`, in order; none for a text with no words.
pub fn passages(text: &str) -> Vec<Passage> {
    let mut spans = Vec::new();
    let mut pending: Option<Span> = None;
    for unit in units(text) {
        let unit = match pending.take() {
            Some(p) => Span {
                start: p.start,
                end: unit.end,
            },
            None => unit,
        };
        let slice = &text[unit.start..unit.end];
        if words(slice) < MIN_WORDS {
            pending = Some(unit);
            continue;
        }
        split_long(text, unit, &mut spans);
        if spans.len() >= MAX_PASSAGES {
            break;
        }
    }
    if let Some(last) = pending {
        // A short tail joins the passage before it when that stays within bounds.
        match spans.last_mut() {
            Some(prev) if words(&text[prev.start..last.end]) <= MAX_WORDS => prev.end = last.end,
            _ => spans.push(last),
        }
    }
    spans.truncate(MAX_PASSAGES);
    to_chars(text, &spans)
}

/// The non-blank lines of `text`, trimmed, by byte offsets (a paragraph that wraps
/// over lines without a blank line between is its lines, each a unit).
fn units(text: &str) -> impl Iterator<Item = Span> + '_ {
    let mut offset = 0;
    text.split_inclusive('\n').filter_map(move |line| {
        let start = offset;
        offset += line.len();
        let trimmed_start = line.len() - line.trim_start().len();
        let body = line.trim();
        (!body.is_empty()).then(|| Span {
            start: start + trimmed_start,
            end: start + trimmed_start + body.len(),
        })
    })
}

/// Pushes `unit` as one passage, or cut at sentence ends (overlapping by a sentence)
/// when it is longer than [`MAX_WORDS`].
fn split_long(text: &str, unit: Span, out: &mut Vec<Span>) {
    if words(&text[unit.start..unit.end]) <= MAX_WORDS {
        out.push(unit);
        return;
    }
    let sentences = sentences(text, unit);
    let mut first = 0;
    while first < sentences.len() && out.len() < MAX_PASSAGES {
        let mut last = first;
        let mut count = words(&text[sentences[first].start..sentences[first].end]);
        if count > MAX_WORDS {
            windows(text, sentences[first], out);
            first += 1;
            continue;
        }
        while last + 1 < sentences.len() {
            let next = words(&text[sentences[last + 1].start..sentences[last + 1].end]);
            if count + next > MAX_WORDS {
                break;
            }
            count += next;
            last += 1;
        }
        out.push(Span {
            start: sentences[first].start,
            end: sentences[last].end,
        });
        if last + 1 >= sentences.len() {
            break;
        }
        // The next passage starts with this one's last sentence, unless that was its only one.
        first = if last > first { last } else { last + 1 };
    }
}

/// The sentences of `unit`: ends at `.`, `;`, `?` or `!` followed by a space.
fn sentences(text: &str, unit: Span) -> Vec<Span> {
    let slice = &text[unit.start..unit.end];
    let mut found = Vec::new();
    let mut start = 0;
    let bytes = slice.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b';' | b'?' | b'!') && bytes.get(i + 1) == Some(&b' ') {
            found.push(Span {
                start: unit.start + start,
                end: unit.start + i + 1,
            });
            start = i + 2;
        }
    }
    if start < slice.len() {
        found.push(Span {
            start: unit.start + start,
            end: unit.end,
        });
    }
    found
}

/// Windows of [`MAX_WORDS`] words over one long sentence, each repeating the last
/// [`OVERLAP_WORDS`] of the one before.
fn windows(text: &str, sentence: Span, out: &mut Vec<Span>) {
    let slice = &text[sentence.start..sentence.end];
    let bounds: Vec<(usize, usize)> = slice
        .split_whitespace()
        .map(|w| {
            let at = w.as_ptr() as usize - slice.as_ptr() as usize;
            (at, at + w.len())
        })
        .collect();
    let mut first = 0;
    while first < bounds.len() && out.len() < MAX_PASSAGES {
        let last = (first + MAX_WORDS).min(bounds.len()) - 1;
        out.push(Span {
            start: sentence.start + bounds[first].0,
            end: sentence.start + bounds[last].1,
        });
        if last + 1 >= bounds.len() {
            break;
        }
        first = last + 1 - OVERLAP_WORDS;
    }
}

/// The spans with character offsets and their text.
fn to_chars(text: &str, spans: &[Span]) -> Vec<Passage> {
    // One pass over the text, converting offsets in increasing order.
    let mut marks: Vec<usize> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
    marks.sort_unstable();
    marks.dedup();
    let mut chars_at = std::collections::HashMap::with_capacity(marks.len());
    let (mut byte, mut chars) = (0, 0);
    for mark in marks {
        chars += text[byte..mark].chars().count();
        byte = mark;
        chars_at.insert(mark, chars);
    }
    spans
        .iter()
        .map(|s| Passage {
            start: chars_at[&s.start],
            end: chars_at[&s.end],
            text: text[s.start..s.end].to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        passages(text).into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn each_clause_is_a_passage_and_a_heading_joins_its_clause() {
        let text = "1. Definitions\n\"Services\" means the logistics services described in the schedule below.\n\n\
                    2. Governing law\nThis agreement is governed by the laws of England and Wales.\n";
        assert_eq!(
            texts(text),
            [
                "1. Definitions\n\"Services\" means the logistics services described in the schedule below.",
                "2. Governing law\nThis agreement is governed by the laws of England and Wales."
            ]
        );
    }

    #[test]
    fn offsets_are_characters_and_point_at_the_text() {
        let text = "Zoë’s clause: the supplier shall deliver the goods within thirty days of the order.\nÅnother line that is long enough to stand alone as one passage here.";
        for p in passages(text) {
            let by_chars: String = text.chars().skip(p.start).take(p.end - p.start).collect();
            assert_eq!(by_chars, p.text);
        }
    }

    #[test]
    fn a_long_paragraph_is_cut_at_sentences_that_overlap_and_stay_within_bounds() {
        let sentence =
            "The supplier shall keep the goods insured against loss and damage at all times.";
        let paragraph = vec![sentence; 60].join(" ");
        let found = passages(&paragraph);
        assert!(found.len() > 5, "{}", found.len());
        for pair in found.windows(2) {
            assert!(pair[1].start < pair[0].end, "consecutive passages overlap");
        }
        assert!(found.iter().all(|p| words(&p.text) <= MAX_WORDS));
        assert_eq!(
            found.last().unwrap().end,
            paragraph.chars().count(),
            "nothing left out"
        );
    }

    #[test]
    fn a_sentence_longer_than_the_model_reads_is_cut_into_overlapping_windows() {
        let endless = vec!["word"; 1000].join(" ");
        let found = passages(&endless);
        assert!(found.iter().all(|p| words(&p.text) <= MAX_WORDS));
        assert_eq!(found.first().unwrap().start, 0);
        assert_eq!(found.last().unwrap().end, endless.len());
    }

    #[test]
    fn hostile_text_is_bounded() {
        assert!(passages("").is_empty());
        assert!(passages("\n\n   \n").is_empty());
        assert_eq!(texts("Short."), ["Short."]);
        let lines = "a line of exactly nine words to stand alone here\n".repeat(20_000);
        assert_eq!(passages(&lines).len(), MAX_PASSAGES);
        let control = "\u{0}\u{202e}\u{feff} ".repeat(10_000);
        let found = passages(&control);
        assert!(found.iter().all(|p| words(&p.text) <= MAX_WORDS));
    }
}
