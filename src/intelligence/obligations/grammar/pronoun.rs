//! A duty whose party is a pronoun, or in Spanish left unsaid, after a clause of
//! condition or time that names it: "If the Customer disputes an invoice, it shall
//! notify the Supplier", "Gerät der Mieter in Verzug, so zahlt er Verzugszinsen", "Si
//! le Preneur ne paie pas le loyer, il doit verser des intérêts", "Si el Arrendatario
//! se retrasa en el pago, deberá abonar intereses".
//!
//! The pronoun (the group `pronoun`, empty where Spanish leaves the subject unsaid)
//! stands for the clause's subject only where the clause opens the sentence, is its
//! only clause before the duty, and begins with a conjunction of condition or time
//! followed by its subject named as a party is named ("the Customer", "der Mieter",
//! "le Preneur"); in German and French the pronoun's gender or number agrees with that
//! subject's article. The party listed is that subject, as the clause writes it.
//! Anything else ("Upon the Customer's request, it shall", "Monatlich zahlt er") has
//! no antecedent in its sentence and is not read, and neither is a clause whose subject
//! asks the other party to act ([`asks_the_other_party`]).

use std::sync::LazyLock;

use regex::Regex;

use super::present::{CLAUSE_OPENERS, CONDITIONAL_VERBS, INSERTED};
use super::{compile, ACTION};

/// Numbering or a heading before a sentence's clause: "(1) ", "3.2 ", "(a) ", "§ 4 ".
pub(crate) const NUMBERING: &str =
    r"^\s*(?:(?:[(\[]?(?:\d+(?:\.\d+)*|[a-z])[.)\]]?|§+\s*\d+\w*|(?:Art|Ziff|Nr)\.)\s+)*";

/// "it shall", "They must", "he undertakes to": an English pronoun before a modal,
/// after a clause or opening its sentence.
pub(crate) fn english(modals: &str) -> Regex {
    compile(&format!(
        r"(?P<party>(?P<pronoun>\b(?:[Ii]t|[Tt]hey|[Hh]e|[Ss]he)))\s+(?P<modal>{modals})(?P<not>\s+not)?\s+(?P<action>[^.;\n]{{3,300}})"
    ))
}

/// "Er hat ... zu", "Sie ist ferner verpflichtet", "Er muss", "Sie darf ... nicht":
/// a German pronoun opening its sentence, with a verb in the singular (the polite "Sie"
/// takes the plural).
pub(crate) fn german() -> Regex {
    compile(&format!(
        r"(?P<party>(?P<pronoun>\b(?:Er|Sie)))\s+(?P<modal>verpflichtet\s+sich|ist\s+(?:(?:ferner|außerdem|zudem|auch|weiterhin|insbesondere)\s+)?(?:dazu\s+)?verpflichtet|hat|muss|darf)\b,?\s+{ACTION}"
    ))
}

/// "il doit", "elle s'engage à", "ils verseront", and the present tense ("il verse"),
/// after a clause or opening its sentence ("Il doit").
pub(crate) fn french(modals: &str, present: fn(&str) -> Regex) -> Vec<Regex> {
    let party = r"(?P<party>(?P<pronoun>\b(?:[Ii]l|[Ee]lle|[Ii]ls|[Ee]lles)))";
    vec![
        compile(&format!(
            r"{party}\s+(?P<not>ne\s+|n['’])?(?P<modal>{modals})(?:\s+(?:pas|jamais|en\s+aucun\s+cas))?\b\s*{ACTION}"
        )),
        present(party),
    ]
}

/// Verbs of doing one's part in the Spanish future tense, whose subject a clause or the
/// sentence before them may leave unsaid: "abonará", "entregarán", "mantendrá".
pub(crate) const FUTURE_STEMS_ES: [&str; 37] = [
    "pagar",
    "abonar",
    "satisfar",
    "reembolsar",
    "entregar",
    "prestar",
    "suministrar",
    "proporcionar",
    "facilitar",
    "mantendr",
    "conservar",
    "custodiar",
    "informar",
    "notificar",
    "comunicar",
    "devolver",
    "restituir",
    "realizar",
    "efectuar",
    "ejecutar",
    "cumplir",
    "respetar",
    "tratar",
    "guardar",
    "revisar",
    "reparar",
    "sustituir",
    "reemplazar",
    "emitir",
    "facturar",
    "enviar",
    "remitir",
    "presentar",
    "instalar",
    "desarrollar",
    "asesorar",
    "velar",
];

/// ", deberá abonar", ", se obliga a", ", abonará", and opening a sentence "Deberá
/// abonar", "Se obliga a", "Abonará": a Spanish duty whose subject is the clause's
/// before it, or the sentence's before it. Only modals that take an infinitive and
/// verbs of doing one's part: any future after a comma ("procederá el desahucio") may
/// have a subject of its own.
pub(crate) fn spanish() -> Vec<Regex> {
    let futures = FUTURE_STEMS_ES.join("|");
    let capitalised = FUTURE_STEMS_ES
        .iter()
        .map(|stem| {
            let mut letters = stem.chars();
            let first = letters.next().expect("a stem has letters");
            format!("{}{}", first.to_uppercase(), letters.as_str())
        })
        .collect::<Vec<_>>()
        .join("|");
    let party = "(?P<party>(?P<pronoun>))";
    vec![
        compile(&format!(
            r",\s*{party}(?P<not>no\s+)?(?P<modal>se\s+obligan?\s+a|se\s+comprometen?\s+a|deber(?:á|án)|se\s+abstendrán?\s+de|(?:{futures})án?)\s+{ACTION}"
        )),
        compile(&format!(
            r"\b{party}(?P<modal>Se\s+obligan?\s+a|Se\s+comprometen?\s+a|Deber(?:á|án)|Se\s+abstendrán?\s+de|(?:{capitalised})án?)\s+{ACTION}"
        )),
        compile(&format!(
            r"\b{party}(?P<not>No\s+)(?P<modal>deber(?:á|án))\s+{ACTION}"
        )),
    ]
}

/// What a pronoun stands for, as far as its own sentence says.
pub(crate) enum Antecedent {
    /// The subject of the clause that opens the sentence.
    Named(String),
    /// No one its sentence names: the sentence before may ([`super::earlier`]).
    Unnamed,
    /// Someone else acts: the clause asks the other party to, or a subject left unsaid
    /// ("") is named after the verb after all.
    Other,
}

/// The party `pronoun` stands for in a sentence whose words before it are `before`,
/// found by a language's `antecedent`.
pub(crate) fn resolve(
    antecedent: fn(&str, &str) -> Option<String>,
    before: &str,
    pronoun: &str,
    action: &str,
) -> Antecedent {
    if asks_the_other_party(before) || (pronoun.is_empty() && names_its_own_subject(action)) {
        return Antecedent::Other;
    }
    antecedent(before, pronoun).map_or(Antecedent::Unnamed, Antecedent::Named)
}

/// Whether a Spanish action's first words name a subject of its own, which the verb
/// comes before and an infinitive follows ("deberá el Arrendador notificar ..."): then
/// the duty is that subject's, not the clause's. A name and no infinitive after a
/// future ("abonará la Renta") may be its object.
fn names_its_own_subject(action: &str) -> bool {
    static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"^\s*(?:el|la|los|las)\s+\p{Lu}[\p{L}-]*\s+\p{Ll}+(?:ar|er|ir)(?:se|lo|la|los|las|le|les)?\b",
        )
    });
    SUBJECT.is_match(action)
}

/// Whether a clause has its subject ask for what the duty says, or ask the other party
/// ("If the Customer so requests, it shall provide a report", "Wenn der Kunde es
/// verlangt", "Si le Client le demande", "Si el Cliente lo solicita", "If the Customer
/// requests the Supplier to ..."): the one who then acts is the other party, whom the
/// rules cannot name. Asking for something ("If the Customer requests additional
/// services, it shall pay for them") leaves the subject bound.
fn asks_the_other_party(clause: &str) -> bool {
    static ASKS: LazyLock<Regex> = LazyLock::new(|| {
        compile(concat!(
            r"\bso\s+(?:requests?|requested|asks?|instructs?|demands?)\b",
            r"|\b(?:requests?|asks?|instructs?|demands?|requires?)\s+(?:that\s+)?(?:the\s+)?\p{Lu}",
            r"|\b(?:es|dies)\s+(?:verlangt|fordert|wünscht)\b",
            r"|\ble\s+(?:demande|exige|sollicite|requiert)\b|\b(?:demande|exige)\s+(?:au|aux|à\s+la|à\s+l['’])",
            r"|\b(?:lo|así\s+lo)\s+(?:solicita|pide|exige|requiere|ordena)\b|\b(?:solicita|pide|exige|requiere)\s+(?:al|a\s+la)\b",
        ))
    });
    ASKS.is_match(clause)
}

/// The party an English pronoun stands for: the subject of the clause that opens its
/// sentence ("If the Customer fails to pay an invoice, " before "it shall").
pub(crate) fn english_antecedent(before: &str, pronoun: &str) -> Option<String> {
    static CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
        compile(&format!(
            r"{NUMBERING}(?:If|Where|When|Whenever|Once|Should|Unless|After|Before|Until|While|In\s+the\s+event\s+(?:that\s+)?|To\s+the\s+extent\s+(?:that\s+)?)\s*(?P<party>[Ee]ach\s+[Pp]arty|[Ee]ither\s+[Pp]arty|[Bb]oth\s+[Pp]arties|(?:the\s+)?\p{{Lu}}[\w&-]*(?:\s+\p{{Lu}}[\w&.-]*){{0,3}})\s+\p{{Ll}}[^,;:?]{{0,200}},\s*(?:then\s+)?$"
        ))
    });
    let party = CLAUSE.captures(before)?.name("party")?.as_str();
    let plural = party.to_lowercase().ends_with("parties");
    // "they" may stand for a company as well as for several.
    (pronoun == "they" || !plural).then(|| party.to_owned())
}

/// The party a German pronoun after the verb stands for: the subject of the clause of
/// condition or time before the verb ("Gerät der Mieter in Verzug, so zahlt " before
/// "er"), whose article agrees with it ("der" for "er", "die" for "sie"). The clause
/// may hold one relative clause or insertion of its own ("Wenn der Kunde, der
/// Verbraucher ist, zahlt, ", "Gerät der Mieter, gleich aus welchem Grund, in Verzug,
/// so ").
pub(crate) fn german_antecedent(before: &str, pronoun: &str) -> Option<String> {
    static CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
        let openers = CLAUSE_OPENERS
            .iter()
            .chain(CONDITIONAL_VERBS)
            .copied()
            .collect::<Vec<_>>()
            .join("|");
        compile(&format!(
            r"{NUMBERING}(?i:{openers})\s+(?P<party>(?P<article>der|die)\s+\p{{Lu}}[\p{{L}}-]*)\b(?P<rest>[^,;:?]*(?:,\s*{INSERTED}[^,;:?]+,[^,;:?]+)?),\s*(?:so\s+|dann\s+)?\p{{Ll}}+\s+$"
        ))
    });
    let caps = CLAUSE.captures(before)?;
    let agrees = matches!((&caps["article"], pronoun), ("der", "er") | ("die", "sie"));
    let words = caps["party"].split_whitespace().count() + caps["rest"].split_whitespace().count();
    (agrees && words <= 25).then(|| caps["party"].to_owned())
}

/// The party a French pronoun stands for: the subject of the clause that opens its
/// sentence ("Si le Preneur ne paie pas le loyer, " before "il"), whose article agrees
/// with it ("le" or "l'" for "il", "la" or "l'" for "elle", "les" for "ils" and
/// "elles").
pub(crate) fn french_antecedent(before: &str, pronoun: &str) -> Option<String> {
    static CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
        compile(&format!(
            r"{NUMBERING}(?:Si|Lorsque|Lorsqu['’]|Quand|Dès\s+que|Dès\s+qu['’]|Dans\s+le\s+cas\s+où|Au\s+cas\s+où|Sauf\s+si|Tant\s+que|Après\s+que|Après\s+qu['’])\s*(?P<party>(?P<article>le|la|les|l['’])\s*\p{{Lu}}[\p{{L}}-]*)\s+[^,;:?]{{1,200}},\s*$"
        ))
    });
    let caps = CLAUSE.captures(before)?;
    let article = caps["article"].replace('’', "'");
    let agrees = match pronoun {
        "il" => article == "le" || article == "l'",
        "elle" => article == "la" || article == "l'",
        _ => article == "les",
    };
    agrees.then(|| caps["party"].to_owned())
}

/// The party a Spanish duty with no subject of its own belongs to: the subject of the
/// clause that opens its sentence ("Si el Arrendatario se retrasa en el pago, ").
pub(crate) fn spanish_antecedent(before: &str, _: &str) -> Option<String> {
    static CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
        compile(&format!(
            r"{NUMBERING}(?:Si|Cuando|En\s+caso\s+de\s+que|En\s+el\s+caso\s+de\s+que|Siempre\s+que|Una\s+vez\s+que|Mientras|Tan\s+pronto\s+como|Salvo\s+que|A\s+menos\s+que)\s+(?P<party>(?:el|la|los|las)\s+\p{{Lu}}[\p{{L}}-]*)\s+[^,;:?]{{1,200}},\s*$"
        ))
    });
    Some(CLAUSE.captures(before)?["party"].to_owned())
}
