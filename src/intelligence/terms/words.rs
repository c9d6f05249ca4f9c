//! The words German, French and Spanish contracts state their terms with: numbers
//! written out, month names, the units of a duration, and the places whose law governs
//! named by an adjective ("deutsches Recht", "droit français", "legislación española")
//! or by their own name ("Bundesrepublik Deutschland", "Reino de España").

use chrono::{Months, NaiveDate};

/// A number in digits, in words of one of the languages, or both ("drei (3)",
/// "trente et un", "treinta y seis"); its groups are read by [`super::number`].
pub(in crate::intelligence) const NUMBER: &str = r"(?:(?P<digits>\d{1,4})|(?P<words>\p{L}+(?:-\p{L}+)*(?:\s+(?:y|et|und)\s+\p{L}+)?)(?:\s*\((?P<paren>\d{1,4})\))?)";

/// Month names of the three languages, as a date written "1. April 2025" (a point
/// after the day) or "1 de abril" names them; [`month`] reads them, and English ones by
/// their first three letters elsewhere.
pub(super) const MONTHS: &str = "januar|jänner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre";

const MONTH_NUMBERS: &[(&str, u32)] = &[
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("enero", 1),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("febrero", 2),
    ("märz", 3),
    ("maerz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("avril", 4),
    ("abril", 4),
    ("mai", 5),
    ("mayo", 5),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("juli", 7),
    ("juillet", 7),
    ("julio", 7),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("oktober", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("novembre", 11),
    ("noviembre", 11),
    ("dezember", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("diciembre", 12),
];

/// The month a German, French or Spanish name (lower case) says.
pub(super) fn month(word: &str) -> Option<u32> {
    MONTH_NUMBERS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, n)| *n)
}

/// Words between the parts of a date in words that say nothing ("1 de enero de 2025").
pub(super) const DATE_FILLERS: [&str; 5] = ["day", "of", "de", "del", "le"];

const WORDS: &[(&str, u32)] = &[
    ("null", 0),
    ("ein", 1),
    ("eins", 1),
    ("eine", 1),
    ("einem", 1),
    ("einen", 1),
    ("einer", 1),
    ("eines", 1),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("elf", 11),
    ("zwölf", 12),
    ("dreizehn", 13),
    ("vierzehn", 14),
    ("fünfzehn", 15),
    ("sechzehn", 16),
    ("siebzehn", 17),
    ("achtzehn", 18),
    ("neunzehn", 19),
    ("zwanzig", 20),
    ("dreißig", 30),
    ("dreissig", 30),
    ("vierzig", 40),
    ("fünfzig", 50),
    ("sechzig", 60),
    ("siebzig", 70),
    ("achtzig", 80),
    ("neunzig", 90),
    ("zéro", 0),
    ("un", 1),
    ("une", 1),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("six", 6),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("onze", 11),
    ("douze", 12),
    ("treize", 13),
    ("quatorze", 14),
    ("quinze", 15),
    ("seize", 16),
    ("vingt", 20),
    ("vingts", 20),
    ("trente", 30),
    ("quarante", 40),
    ("cinquante", 50),
    ("soixante", 60),
    ("cero", 0),
    ("uno", 1),
    ("una", 1),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("nueve", 9),
    ("diez", 10),
    ("once", 11),
    ("doce", 12),
    ("trece", 13),
    ("catorce", 14),
    ("quince", 15),
    ("dieciséis", 16),
    ("dieciseis", 16),
    ("diecisiete", 17),
    ("dieciocho", 18),
    ("diecinueve", 19),
    ("veinte", 20),
    ("veinticuatro", 24),
    ("treinta", 30),
    ("cuarenta", 40),
    ("cincuenta", 50),
    ("sesenta", 60),
    ("setenta", 70),
    ("ochenta", 80),
    ("noventa", 90),
    ("ciento", 100),
    ("cien", 100),
];

/// A number written in German, French or Spanish words: "drei", "vierundzwanzig",
/// "vingt-quatre", "quatre-vingt-dix", "trente et un", "treinta y seis".
pub(super) fn number(words: &str) -> Option<u32> {
    let lower = words.to_lowercase();
    let value = |w: &str| WORDS.iter().find(|(name, _)| *name == w).map(|(_, n)| *n);
    // German writes the units before the tens in one word: "vierundzwanzig".
    if let Some((unit, tens)) = lower.split_once("und") {
        if let (Some(u @ 1..=9), Some(t @ 20..=90)) = (value(unit), value(tens)) {
            return Some(t + u);
        }
    }
    let parts: Vec<&str> = lower
        .split([' ', '-'])
        .filter(|p| !p.is_empty() && !["et", "y", "und"].contains(p))
        .collect();
    let mut total = 0;
    let mut i = 0;
    while i < parts.len() {
        // "quatre-vingt(s)" is four twenties.
        if parts[i] == "quatre" && parts.get(i + 1).is_some_and(|p| p.starts_with("vingt")) {
            total += 80;
            i += 2;
            continue;
        }
        total += value(parts[i])?;
        i += 1;
    }
    (!parts.is_empty()).then_some(total)
}

/// How many days a notice of `n` of `unit` ("days", "Monate", "semaines", "meses") is
/// at most: a month counts as the longest that many calendar months can be, so a
/// reminder set that many days ahead is never late.
pub(super) fn notice_days(n: u32, unit: Option<&str>) -> Option<u32> {
    let unit = unit.unwrap_or("days").to_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| unit.starts_with(p));
    if starts(&["day", "tag", "jour", "día", "dia"]) {
        Some(n)
    } else if starts(&["week", "woche", "semaine", "semana"]) {
        n.checked_mul(7)
    } else if starts(&["month", "monat", "mois", "mes"]) {
        longest_months(n)
    } else {
        None
    }
}

/// The most days `n` consecutive calendar months span (31 for one, 92 for three, 366
/// for twelve).
fn longest_months(n: u32) -> Option<u32> {
    if !(1..=120).contains(&n) {
        return None;
    }
    // Four years hold every pattern of month lengths, leap February included.
    (2000..2004)
        .flat_map(|year| (1..=12).map(move |month| (year, month)))
        .filter_map(|(year, month)| {
            let start = NaiveDate::from_ymd_opt(year, month, 1)?;
            let end = start.checked_add_months(Months::new(n))?;
            u32::try_from((end - start).num_days()).ok()
        })
        .max()
}

/// How many months one of `unit` is: one for a month ("Monate", "mois", "meses"),
/// twelve for a year ("years", "Jahre", "ans", "années", "años").
pub(super) fn months_per(unit: &str) -> Option<u32> {
    match unit.to_lowercase().chars().next()? {
        'm' => Some(1),
        'y' | 'j' | 'a' => Some(12),
        _ => None,
    }
}

/// Places named by the adjective their law is called by, by the adjective's stem.
const LAW_ADJECTIVES: &[(&str, &str)] = &[
    ("deutsch", "Germany"),
    ("österreichisch", "Austria"),
    ("schweizer", "Switzerland"),
    ("französisch", "France"),
    ("englisch", "England and Wales"),
    ("niederländisch", "Netherlands"),
    ("luxemburgisch", "Luxembourg"),
    ("italienisch", "Italy"),
    ("spanisch", "Spain"),
    ("belgisch", "Belgium"),
    ("polnisch", "Poland"),
    ("français", "France"),
    ("francais", "France"),
    ("belge", "Belgium"),
    ("suisse", "Switzerland"),
    ("luxembourgeois", "Luxembourg"),
    ("allemand", "Germany"),
    ("anglais", "England and Wales"),
    ("québécois", "Quebec"),
    ("quebecois", "Quebec"),
    ("canadien", "Canada"),
    ("espagnol", "Spain"),
    ("italien", "Italy"),
    ("néerlandais", "Netherlands"),
    ("monégasque", "Monaco"),
    ("español", "Spain"),
    ("espanol", "Spain"),
    ("mexican", "Mexico"),
    ("argentin", "Argentina"),
    ("chilen", "Chile"),
    ("colombian", "Colombia"),
    ("peruan", "Peru"),
    ("uruguay", "Uruguay"),
    ("francés", "France"),
    ("alemán", "Germany"),
    ("inglés", "England and Wales"),
    ("portugu", "Portugal"),
];

/// The place whose law an adjective of the three languages names ("deutschem",
/// "française", "españolas").
pub(super) fn law_of_adjective(adjective: &str) -> Option<&'static str> {
    let lower = adjective.to_lowercase();
    LAW_ADJECTIVES
        .iter()
        .find(|(stem, _)| lower.starts_with(stem))
        .map(|(_, place)| *place)
}

/// Places a contract names in its own language, and the name the suggestions give.
const NATIVE_PLACES: &[(&str, &str)] = &[
    ("bundesrepublik deutschland", "Germany"),
    ("deutschland", "Germany"),
    ("republik österreich", "Austria"),
    ("österreich", "Austria"),
    ("schweiz", "Switzerland"),
    ("schweizerischen eidgenossenschaft", "Switzerland"),
    ("fürstentums liechtenstein", "Liechtenstein"),
    ("großherzogtums luxemburg", "Luxembourg"),
    ("niederlande", "Netherlands"),
    ("vereinigten königreichs", "United Kingdom"),
    ("frankreich", "France"),
    ("luxemburg", "Luxembourg"),
    ("france", "France"),
    ("belgique", "Belgium"),
    ("suisse", "Switzerland"),
    ("province de québec", "Quebec"),
    ("québec", "Quebec"),
    ("reino de españa", "Spain"),
    ("españa", "Spain"),
    ("estados unidos mexicanos", "Mexico"),
    ("méxico", "Mexico"),
    ("mexico", "Mexico"),
];

/// The name the suggestions give a place a contract names in its own language; a place
/// not known is given as written.
pub(super) fn place_named(written: &str) -> String {
    // "Staates New York": the state is named by its name.
    let written = written.strip_prefix("Staates ").unwrap_or(written);
    let lower = written.to_lowercase();
    NATIVE_PLACES
        .iter()
        .find(|(name, _)| *name == lower)
        .map_or_else(|| written.to_owned(), |(_, place)| (*place).to_owned())
}
