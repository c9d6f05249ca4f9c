//! Which languages a text is written in, told by its commonest short words: English,
//! German, French and Spanish are the languages whose rules read contracts (their terms,
//! obligations and clause categories), and the shipped embedding model reads English.

/// How often a document's first pages use the commonest short words of English,
/// German, French and Spanish, in that order.
fn common_words(document: &str) -> [usize; 4] {
    const COMMON: [&[&str]; 4] = [
        &[
            "the", "and", "of", "to", "shall", "is", "this", "by", "for", "with",
        ],
        &[
            "der", "die", "und", "das", "ist", "wird", "sich", "nicht", "mit", "von", "zu", "den",
            "dem", "ein", "eine",
        ],
        // Words French and Spanish share ("la", "un") would say nothing between them.
        &[
            "le", "et", "les", "des", "est", "du", "au", "il", "ne", "pas", "par", "pour", "une",
            "sera",
        ],
        &[
            "el", "y", "los", "las", "del", "se", "no", "por", "con", "que", "una", "será",
        ],
    ];
    let mut counts = [0usize; 4];
    let sample = &document[..super::terms::floor_boundary(document, 20_000)];
    for word in sample.split(|c: char| !c.is_alphabetic()) {
        let word = word.to_lowercase();
        for (count, words) in counts.iter_mut().zip(COMMON) {
            *count += usize::from(words.contains(&word.as_str()));
        }
    }
    counts
}

/// Whether a document is written in English rather than German, French or Spanish: its
/// commonest short words, counted in its first pages, are English ones more than any
/// other language's.
pub fn english(document: &str) -> bool {
    let [en, de, fr, es] = common_words(document);
    en >= de.max(fr).max(es)
}

/// Which of German, French and Spanish a document is written in, wholly or in part:
/// their common words are at least a quarter as frequent as English ones (a name such
/// as "Banco de la Nación" in an English contract is not enough). Only those languages'
/// rules read it, so an English text costs what it did before they were written.
pub fn other_languages(document: &str) -> [bool; 3] {
    let [en, de, fr, es] = common_words(document);
    [de, fr, es].map(|n| n > 0 && n * 4 >= en)
}
