//! Which languages a text is written in, told by its commonest short words: English,
//! German, French and Spanish are the languages whose rules read contracts (their terms,
//! obligations and clause categories), whose words full-text search stems, and the
//! shipped embedding model reads English.

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
    let sample = first_pages(document);
    for word in sample.split(|c: char| !c.is_alphabetic()) {
        let word = word.to_lowercase();
        for (count, words) in counts.iter_mut().zip(COMMON) {
            *count += usize::from(words.contains(&word.as_str()));
        }
    }
    counts
}

/// The first pages of `document` (20,000 bytes, cut on a character boundary): what its
/// language is told by.
fn first_pages(document: &str) -> &str {
    let mut end = document.len().min(20_000);
    while !document.is_char_boundary(end) {
        end -= 1;
    }
    &document[..end]
}

/// Whether a document is written in English rather than German, French or Spanish: its
/// commonest short words, counted in its first pages, are English ones more than any
/// other language's.
pub fn english(document: &str) -> bool {
    text_search_config(document) == "english"
}

/// Which of German, French and Spanish a document is written in, wholly or in part:
/// their common words are at least a quarter as frequent as English ones (a name such
/// as "Banco de la Nación" in an English contract is not enough). Only those languages'
/// rules read it, so an English text costs what it did before they were written.
pub fn other_languages(document: &str) -> [bool; 3] {
    let [en, de, fr, es] = common_words(document);
    [de, fr, es].map(|n| n > 0 && n * 4 >= en)
}

/// The PostgreSQL text search configuration a text's words are stemmed with: the
/// language its commonest short words are most of (English on a tie or when they say
/// nothing). Tenant tables keep it per row (`text_language`), so a German contract's
/// "Verträge" is found by "Vertrag".
pub fn text_search_config(document: &str) -> &'static str {
    let counts = common_words(document);
    let [en, ..] = counts;
    let mut best = ("english", en);
    for (name, count) in ["german", "french", "spanish"]
        .into_iter()
        .zip(&counts[1..])
    {
        if *count > best.1 {
            best = (name, *count);
        }
    }
    best.0
}

/// [`text_search_config`] of a titled text: its title, then its first pages.
pub fn titled_text_search_config(title: &str, body: &str) -> &'static str {
    text_search_config(&format!("{title} {}", first_pages(body)))
}

/// The configuration a text is stemmed with: the language a person `set`, else the one
/// its commonest short words tell ([`text_search_config`]).
pub fn set_or_told(set: Option<TextLanguage>, text: &str) -> &'static str {
    set.map_or_else(|| text_search_config(text), TextLanguage::config)
}

/// The configurations [`text_search_config`] gives, each a PostgreSQL built-in.
pub const TEXT_SEARCH_CONFIGS: [&str; 4] = ["english", "german", "french", "spanish"];

/// A FROM item (`alias`) that parses `q` (bound as `$n`) once per execution: a column
/// per language's configuration, and `query`, all of them joined by OR. A text stemmed
/// in any language that matches its own language's query matches `query`, so a GIN
/// index over texts of every language answers it. `offset 0` keeps the planner from
/// folding the parse into the WHERE clause, where it would run once per row.
pub fn parsed_query_sql(n: usize, alias: &str) -> String {
    let each: Vec<String> = TEXT_SEARCH_CONFIGS
        .iter()
        .map(|config| format!("websearch_to_tsquery('{config}', ${n}) as {config}"))
        .collect();
    format!(
        "(select *, {} as query from (select {}) as languages offset 0) as {alias}",
        TEXT_SEARCH_CONFIGS.join(" || "),
        each.join(", ")
    )
}

/// The query of [`parsed_query_sql`]'s `alias` in the row's own language (`column` names
/// it): the exact test, after the index's.
pub fn own_language_query(alias: &str, column: &str) -> String {
    let arms: Vec<String> = TEXT_SEARCH_CONFIGS[1..]
        .iter()
        .map(|config| format!("when '{config}' then {alias}.{config}"))
        .collect();
    format!(
        "case {column} {} else {alias}.{} end",
        arms.join(" "),
        TEXT_SEARCH_CONFIGS[0]
    )
}

/// A language a contract's text can be set to be stemmed in, by its ISO 639-1 code, in
/// place of the one its words tell.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TextLanguage {
    En,
    De,
    Fr,
    Es,
}

impl TextLanguage {
    const ALL: [Self; 4] = [Self::En, Self::De, Self::Fr, Self::Es];

    /// Its PostgreSQL text search configuration, one of [`TEXT_SEARCH_CONFIGS`].
    pub fn config(self) -> &'static str {
        TEXT_SEARCH_CONFIGS[self as usize]
    }

    /// The language of a configuration [`text_search_config`] gave; English for any
    /// other name.
    pub fn of_config(config: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|l| l.config() == config)
            .unwrap_or(Self::En)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_language_names_its_configuration_and_back() {
        for language in TextLanguage::ALL {
            assert_eq!(TextLanguage::of_config(language.config()), language);
        }
        assert_eq!(TextLanguage::De.config(), "german");
        assert_eq!(TextLanguage::of_config("simple"), TextLanguage::En);
    }

    #[test]
    fn a_text_is_stemmed_in_the_language_most_of_its_common_words_are() {
        let english = "The Supplier shall deliver the goods and the Customer shall pay.";
        let german = "Der Lieferant liefert die Ware und der Kunde zahlt den Preis.";
        let french = "Le Prestataire fournit le service et le Client paie le prix.";
        let spanish = "El Proveedor entrega los bienes y el Cliente paga el precio.";
        assert_eq!(text_search_config(english), "english");
        assert_eq!(text_search_config(german), "german");
        assert_eq!(text_search_config(french), "french");
        assert_eq!(text_search_config(spanish), "spanish");
        assert_eq!(text_search_config("12345 --- ###"), "english");
        assert_eq!(text_search_config(""), "english");
        // A German name in an English contract leaves it English.
        let named = format!("{english} Signed for Müller und Söhne.");
        assert_eq!(text_search_config(&named), "english");
        // Multi-byte text at the sample's edge is cut on a character boundary.
        assert_eq!(text_search_config(&"ä".repeat(30_000)), "english");
    }
}
