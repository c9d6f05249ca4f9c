//! How a sentence binds a party in each language the rules read: English ("Customer
//! shall pay", "the Supplier agrees to"), German ("Der Auftragnehmer ist verpflichtet,
//! … zu …", "Der Mieter hat … zu zahlen", "Der Kunde darf … nicht"), French ("Le
//! Prestataire s'engage à", "le Client est tenu de", "Le Preneur s'interdit de") and
//! Spanish ("El Cliente se obliga a", "el Proveedor deberá", "El Cliente pagará"), and
//! in the last three the present tense their drafting also uses for a duty ("Der
//! Mieter leistet eine Kaution": `present`), with each language's words for a period,
//! a due date and a recurrence.

mod earlier;
mod incumbent;
mod present;
mod pronoun;

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::intelligence::terms::{date_pattern, NUMBER, WRITTEN_NUMBER};
pub(super) use earlier::{name_of, opens_with_pronoun, Earlier};
pub(super) use incumbent::{judge as judge_incumbent, party as incumbent_party};
pub(super) use present::{inverted_opening, opens_sentence, Opening, PresentDuty};
pub(super) use pronoun::{resolve as resolve_pronoun, Antecedent};

/// One language's way of binding a party and of saying when.
pub(super) struct Grammar {
    /// Each names the groups `party`, `modal` and `action`, and `not` where a word of
    /// its own makes the duty a prohibition.
    pub binds: Vec<Regex>,
    /// Whether a match binds after all (not a permission, a right, a passive or an
    /// auxiliary), and if so whether it forbids.
    pub judge: fn(&Captures<'_>) -> Option<bool>,
    /// How a duty in the present tense is told from a statement, in the languages
    /// whose drafting uses it; its patterns are among `binds` and name `present`.
    pub present: Option<PresentDuty>,
    /// The party a pronoun (the group `pronoun`) stands for, from the words of its
    /// sentence before it: the subject of the clause they open with.
    pub antecedent: fn(before: &str, pronoun: &str) -> Option<String>,
    /// Whether a pronoun that opens its sentence stands for the party bound by the
    /// sentence before, in the languages where it is read.
    pub earlier: Option<fn(&Earlier<'_>) -> bool>,
    /// Last words, in lower case, of names that are the contract or its parts.
    pub not_parties: &'static [&'static str],
    /// Whether the words of its sentence before a party say it is not the subject of a
    /// duty there: the object of a preposition ("liability in each Contract Year
    /// shall not exceed"), or inside a warranty ("warrants that the Services will").
    pub not_subject: fn(&str) -> bool,
    /// A period: a number (the groups of a number pattern), its `unit` and what it runs
    /// `after`.
    pub within: Regex,
    /// A due date: the group `date`.
    pub by_date: Regex,
    /// A recurrence's words and the recurrence they name.
    pub recurs: Vec<(Regex, &'static str)>,
}

/// English, German, French and Spanish, in the order of
/// [`crate::kernel::language::other_languages`] after English.
pub(super) static GRAMMARS: LazyLock<[Grammar; 4]> =
    LazyLock::new(|| [english(), german(), french(), spanish()]);

/// An action runs to the end of its sentence; in the other languages a point inside a
/// date ("1. Juni", "10.05.2025") or before a number ("Art. 28") does not end it.
const ACTION: &str = r"(?P<action>(?:[^.;\n]|\.\s?\d|\.\s?(?:Jan|Jän|Feb|Mär|Apr|Mai|Jun|Jul|Aug|Sep|Okt|Nov|Dez)){3,300})";
/// A name in brackets after a party ("Harvest Table Ltd (\"the Caterer\")").
const APPOSITION: &str = r"(?:\s*\([^()\n]{1,60}\))?";

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the obligation patterns are valid")
}

/// A due date after `introducers` ("by the", "bis zum"), in the group `date`.
fn due_date(introducers: &str) -> Regex {
    compile(&format!(r"(?i){introducers}{}", date_pattern()))
}

fn recurrences(words: [(&str, &'static str); 5]) -> Vec<(Regex, &'static str)> {
    words
        .into_iter()
        .map(|(pattern, named)| (compile(&format!(r"(?i)\b(?:{pattern})\b")), named))
        .collect()
}

/// What binds an English party before its action: "shall", "agrees to", "is required to".
pub(super) const MODALS_EN: &str = r"shall|must|will|agrees?\s+to|undertakes?\s+to|commits?\s+to|(?:is|are)\s+(?:required|obliged|obligated|bound)\s+to";

fn english() -> Grammar {
    Grammar {
        binds: vec![
            compile(&format!(
                r"(?P<party>\b(?:[Ee]ach|[Ee]ither|[Bb]oth|[Nn]either|[Tt]he)\s+[Pp]art(?:y|ies)|\b(?:[Ww]e|[Yy]ou)\b|\b(?:[Tt]he\s+)?\p{{Lu}}[\w'&-]*(?:\s+\p{{Lu}}[\w'&.-]*){{0,3}}){APPOSITION}\s+(?P<modal>{MODALS_EN})(?P<not>\s+not)?\s+(?P<action>[^.;\n]{{3,300}})"
            )),
            pronoun::english(MODALS_EN),
        ],
        judge: judge_english,
        antecedent: pronoun::english_antecedent,
        earlier: Some(earlier::english),
        present: None,
        not_subject: |before| NOT_SUBJECT_EN.is_match(before),
        not_parties: &[
            "agreement",
            "contract",
            "lease",
            "term",
            "clause",
            "section",
            "schedule",
            "order",
            "it",
            "they",
            "he",
            "she",
            "this",
            "that",
            "there",
        ],
        within: compile(&format!(
            r"(?i)within\s+{NUMBER}\s+(?:calendar\s+|business\s+|working\s+)?(?P<unit>days?|weeks?|months?)(?:\s+(?:of|after|from|following)\s+(?P<after>[^.,;]{{1,80}}))?"
        )),
        by_date: due_date(r"(?:by|on|before|no\s+later\s+than)\s+(?:the\s+)?"),
        recurs: recurrences([
            ("daily", "daily"),
            ("weekly", "weekly"),
            (r"monthly|each\s+month", "monthly"),
            (r"quarterly|each\s+quarter", "quarterly"),
            (r"annually|yearly|each\s+year", "annually"),
        ]),
    }
}

/// What follows an English modal and binds no one: a statement of liability ("shall
/// not be liable", "be held responsible", "be in breach"), a permission ("shall be free
/// to", "be entitled to"), a state ("will be free from defects") or a passive ("shall be
/// resolved by arbitration", "shall not be published"), whose subject does nothing.
static NOT_DUTY_EN: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)^be\s+(?:(?:held\s+)?liable|held\s+responsible|responsible\s+for\s+(?:any\s+)?(?:delays?|failures?|loss|losses|damages?)\b|in\s+breach|free|entitled|permitted|allowed|deemed|(?:\w+ly\s+)?(?:\w+ed|sold|paid|made|held|kept|sent|given|done|borne|taken|written|shown|brought|bought|built|found|told|met|put|set|run|won|lost|chosen|drawn|spent|laid|led|left))\b",
    )
});
/// A passive that still binds its subject: "shall be required to", "is obliged to".
static BOUND_EN: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)^be\s+(?:required|obliged|obligated|bound)\s+to\b"));
/// The end of a preposition's phrase before a name, a warranty's "that" anywhere, or
/// an amount a relative clause without "that" describes ("The most we will ever owe
/// you is ...", "the price the Customer will pay"): its name is that clause's subject,
/// and the sentence's is the amount.
static NOT_SUBJECT_EN: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:in|of|under|for|with|to|by|from|at|on|upon|against|between)\s+(?:(?:each|the|a|an|any|that|this|its|their|all)\s+)?$|\b(?:warrants?|represents?|guarantees?|certif(?:y|ies))\b(?:\s+and\s+\w+)?\s+that\b|\b(?:most|least|maximum|minimum|amounts?|sums?|price|fees?)\s+(?:the\s+)?$",
    )
});

/// What a pronoun's "shall be" binds its party to: being required to act, or
/// responsible for doing something ("it shall be responsible for obtaining").
static PRONOUN_BOUND_EN: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)^be\s+(?:(?:required|obliged|obligated|bound)\s+to|(?:solely\s+)?responsible\s+for)\b",
    )
});

fn judge_english(caps: &Captures<'_>) -> Option<bool> {
    let action = &caps["action"];
    if NOT_DUTY_EN.is_match(action) && !BOUND_EN.is_match(action) {
        return None;
    }
    // After a pronoun, "shall be" is most often impersonal ("it shall be sufficient",
    // "it shall be the Supplier's responsibility to") rather than a duty of the party.
    let impersonal = action
        .get(..3)
        .is_some_and(|be| be.eq_ignore_ascii_case("be "))
        && !PRONOUN_BOUND_EN.is_match(action);
    if caps.name("pronoun").is_some() && impersonal {
        return None;
    }
    Some(caps.name("not").is_some())
}

fn german() -> Grammar {
    let party = r"(?P<party>\b(?:[Jj]ede|[Bb]eide|[Dd]ie)\s+(?:Vertrags)?[Pp]artei(?:en)?\b|\b[Ww]ir\b|\p{Lu}[\p{L}&.-]*(?:\s+(?:\p{Lu}[\p{L}&.-]*|&)){0,4}\s+(?:gGmbH|GmbH|AG|KG|SE|UG|eG|OHG|GbR|Genossenschaft|Stiftung)\b|\b(?:[Dd]er|[Dd]ie|[Dd]as)\s+\p{Lu}[\p{L}-]*)";
    Grammar {
        binds: vec![
            compile(&format!(
                r"{party}{APPOSITION}\s+(?P<modal>verpflichte[nt]\s+sich|(?:ist|sind)\s+(?:dazu\s+)?verpflichtet|hat|haben|muss|müssen|wird|werden|darf|dürfen)\b,?\s+{ACTION}"
            )),
            // The verb before its subject: "Bei Verzug hat der Kunde Zinsen zu zahlen",
            // "Hierzu ist der Auftragnehmer verpflichtet". Not "wird": "Vermietet werden
            // die Räume" is a passive whose participle stands first.
            compile(&format!(
                r"\b(?P<modal>hat|haben|muss|müssen|darf|dürfen|ist|sind)\s+(?P<party>(?:der|die|das|jede|beide)\s+\p{{Lu}}[\p{{L}}-]*|(?P<pronoun>er|sie))(?:\s+(?P<obliged>(?:dazu\s+)?verpflichtet))?\b,?\s+{ACTION}"
            )),
            present::german_bind(party),
            present::german_inverted_bind(),
            present::german_object_first_bind(),
            pronoun::german(),
        ]
        .into_iter()
        .chain(incumbent::german())
        .collect(),
        judge: judge_german,
        antecedent: pronoun::german_antecedent,
        earlier: Some(earlier::german),
        present: Some(present::german()),
        not_subject: |before| PRONOUN_SUBJECT_DE.is_match(before),
        not_parties: &[
            "vertrag",
            "vereinbarung",
            "laufzeit",
            "vergütung",
            "miete",
            "zahlung",
            "rechnung",
            "rechnungen",
            "frist",
            "kündigung",
            "haftung",
            "anlage",
            "bestellung",
            "preis",
            "darlehen",
            "mietverhältnis",
            "leistung",
            "lieferung",
            "entgelt",
            "honorar",
            "gewährleistung",
            "verlängerung",
            "änderung",
            "zinsen",
            "recht",
        ],
        within: compile(&format!(
            r"(?i)(?:innerhalb\s+(?:von\s+)?|binnen\s+)(?:der\s+nächsten\s+)?{WRITTEN_NUMBER}\s+(?:kalender|werk|arbeits|bank)?(?P<unit>tag\w*|woche\w*|monat\w*)(?:\s+(?:nach|ab|seit)\s+(?P<after>[^.,;]{{1,80}}?)(?:\s+(?:zu\s+)?\p{{Ll}}+n\b)?(?:[.,;]|$))?"
        )),
        by_date: due_date(
            r"(?:bis\s+(?:spätestens\s+)?(?:zum|am)|spätestens\s+(?:am|zum|bis\s+zum)|vor\s+dem)\s+",
        ),
        recurs: recurrences([
            (r"täglich|jeden\s+Tag", "daily"),
            (r"wöchentlich|jede\s+Woche", "weekly"),
            (r"monatlich|jeden\s+Monat", "monthly"),
            (
                r"vierteljährlich|quartalsweise|jedes\s+Quartal",
                "quarterly",
            ),
            (r"jährlich|jedes\s+Jahr", "annually"),
        ]),
    }
}

/// A pronoun and the verb after it just before a name: the name after a verb whose
/// subject comes first ("Sie muss die Ware prüfen", "Er liefert die Ware") is its
/// object, not a subject after its verb.
static PRONOUN_SUBJECT_DE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?:^|[\s(])(?i:er|sie|es|wir|ich|man|ihr|du)\s+\p{L}+\s+$"));

static NEGATION_DE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(?:nicht|kein(?:e|en|em|er|es|esfalls)?|niemals)\b"));
static CONDITION_DE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(?:sofern|soweit|wenn|falls|solange|ob|dass)\b"));
static ZU_INFINITIVE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\bzu\s+\p{Ll}+n\b|\b\p{Ll}{2,}zu\p{Ll}{2,}n\b"));
static RIGHT_DE: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^(?:das\s+Recht|den\s+Anspruch|die\s+Möglichkeit|die\s+Befugnis|die\s+Wahl)\b")
});

/// Whether a German duty is negated in its main clause: "nicht" or "kein" that a
/// condition ("sofern nicht anders vereinbart") does not hold.
fn negated_german(action: &str) -> bool {
    NEGATION_DE
        .find(action)
        .is_some_and(|negation| !CONDITION_DE.is_match(&action[..negation.start()]))
}

/// "hat … zu zahlen" binds and "hat das Recht" does not; "darf … nicht" forbids and
/// "darf" alone permits; "wird … geliefert" is a passive, not a promise; "ist der
/// Auftragnehmer" binds only when "verpflichtet" follows.
fn judge_german(caps: &Captures<'_>) -> Option<bool> {
    let action = caps.name("action")?.as_str();
    let negated = negated_german(action);
    match caps.name("modal")?.as_str() {
        "darf" | "dürfen" => negated.then_some(true),
        "hat" | "haben" => {
            (ZU_INFINITIVE.is_match(action) && !RIGHT_DE.is_match(action)).then_some(negated)
        }
        "ist" | "sind" => caps.name("obliged").map(|_| negated),
        "wird" | "werden" => (!passive_german(action)).then_some(negated),
        _ => Some(negated),
    }
}

/// Whether "wird …" is a passive: its clause ends in a past participle ("ausgezahlt",
/// "geschlossen", "verlängert", "abgegeben") rather than an infinitive ("melden",
/// "gewährleisten", and with a separable prefix "abgeben", "eingehen").
fn passive_german(action: &str) -> bool {
    // Infinitives that begin as a participle does: "ge" is part of their stem.
    const GE_INFINITIVES: [&str; 15] = [
        "geben",
        "gehen",
        "gelten",
        "gewähren",
        "gewährleisten",
        "genehmigen",
        "gestatten",
        "gehören",
        "genügen",
        "gebrauchen",
        "gestalten",
        "gewinnen",
        "gelangen",
        "gefährden",
        "gebühren",
    ];
    // The separable prefixes a participle's "ge" follows ("ab-ge-geben").
    const SEPARABLE: [&str; 11] = [
        "ab", "an", "auf", "aus", "bei", "ein", "mit", "nach", "vor", "zu", "zurück",
    ];
    let clause = action.split([',', '(']).next().unwrap_or(action);
    let Some(verb) = clause.split_whitespace().last() else {
        return false;
    };
    let verb = verb.to_lowercase();
    if !verb.ends_with("en") {
        return verb.ends_with('t') && !verb.ends_with("st");
    }
    let rests = std::iter::once(verb.as_str()).chain(
        SEPARABLE
            .iter()
            .filter_map(|prefix| verb.strip_prefix(prefix)),
    );
    let mut participle = false;
    for rest in rests.filter(|rest| rest.starts_with("ge") && rest.len() > "ge".len() + 3) {
        if GE_INFINITIVES.contains(&rest) {
            return false;
        }
        participle = true;
    }
    participle
}

/// What binds a French party before its action: "s'engage à", "est tenu de", "doit",
/// a future tense.
pub(super) const MODALS_FR: &str = r"s['’]engage(?:nt)?\s+à|s['’]oblige(?:nt)?\s+à|(?:est|sont|sera|seront)\s+(?:tenue?s?|obligée?s?)\s+(?:de|d['’])|doi(?:t|vent)|devr(?:a|ont)|s['’]interdi(?:t|sent)\s+(?:de|d['’])|\p{Ll}{2,}r(?:a|ont)";

fn french() -> Grammar {
    let party = r"(?P<party>\b(?:[Cc]haque|[Cc]hacune\s+des)\s+parties?\b|\b[Ll]es\s+(?:deux\s+)?[Pp]arties\b|\p{Lu}[\p{L}&'.-]*(?:\s+(?:\p{Lu}[\p{L}&'.-]*|&|et)){0,4}\s+(?:SAS|SARL|SA|SRL|SPRL|Sàrl|SNC|SCI|ASBL)\b|\b(?:[Ll]e|[Ll]a|[Ll]es)\s+\p{Lu}[\p{L}-]*(?:\s+d['’]\p{Ll}+)?|\b[Ll]['’]\p{Lu}[\p{L}-]*)";
    Grammar {
        binds: vec![
            compile(&format!(
                r"{party}{APPOSITION}\s+(?P<not>ne\s+|n['’])?(?P<modal>{MODALS_FR})(?:\s+(?:pas|jamais|en\s+aucun\s+cas))?\b\s*{ACTION}"
            )),
            present::french_bind(party),
        ]
        .into_iter()
        .chain(pronoun::french(MODALS_FR, present::french_bind))
        .chain(incumbent::french())
        .collect(),
        antecedent: pronoun::french_antecedent,
        earlier: Some(earlier::french),
        present: Some(present::french()),
        judge: |caps| {
            let modal = caps.name("modal")?.as_str();
            // With them the verbs an impersonal "il" opens ("il incombera au Bailleur
            // de", "il conviendra de"), which no pronoun for a party is the subject of.
            const NOT_DUTIES: [&str; 16] = [
                "sera", "seront", "aura", "auront", "pourra", "pourront", "faudra", "voudra",
                "voudront", "vaudra", "incombera", "incomberont", "appartiendra", "conviendra",
                "suffira", "résultera",
            ];
            if NOT_DUTIES.contains(&modal) {
                return None;
            }
            Some(caps.name("not").is_some() || modal.contains("interdi"))
        },
        not_subject: |_| false,
        not_parties: &[
            "contrat",
            "bail",
            "accord",
            "convention",
            "article",
            "annexe",
            "prix",
            "loyer",
            "montant",
            "facture",
            "factures",
            "durée",
            "mandat",
            "prêt",
            "commande",
            "redevance",
            "paiement",
            "délai",
            "responsabilité",
            "garantie",
            "licence",
        ],
        within: compile(&format!(
            r"(?i)(?:dans\s+un\s+délai\s+(?:maximum\s+|maximal\s+)?de|dans\s+les|sous(?:\s+un\s+délai\s+de)?)\s+{WRITTEN_NUMBER}\s+(?P<unit>jours?|semaines?|mois)(?:\s+(?:ouvrés|ouvrables|calendaires|francs))?(?:\s+(?:à\s+compter\s+de|suivant|après|dès|de)\s+(?P<after>[^.,;]{{1,80}}))?"
        )),
        by_date: due_date(r"(?:au\s+plus\s+tard\s+le|avant\s+le|d['’]ici\s+le|jusqu['’]au|le)\s+"),
        recurs: recurrences([
            (r"quotidien\w*|chaque\s+jour", "daily"),
            (r"hebdomadaire\w*|chaque\s+semaine", "weekly"),
            (r"mensuel\w*|chaque\s+mois|par\s+mois", "monthly"),
            (r"trimestriel\w*|chaque\s+trimestre", "quarterly"),
            (r"annuel\w*|chaque\s+année|par\s+an", "annually"),
        ]),
    }
}

/// Last words, in lower case, of Spanish names that are the contract, its parts or
/// what it is about, never a party.
pub(super) const NOT_PARTIES_ES: &[&str] = &[
    "contrato",
    "arrendamiento",
    "acuerdo",
    "cláusula",
    "anexo",
    "precio",
    "renta",
    "plazo",
    "factura",
    "facturas",
    "vigencia",
    "pago",
    "fianza",
    "préstamo",
    "mutuo",
    "responsabilidad",
    "garantía",
    "licencia",
];

fn spanish() -> Grammar {
    let party = r"(?P<party>\b(?:[Cc]ada\s+(?:una\s+de\s+las\s+)?partes?|[Aa]mbas\s+partes|[Ll]as\s+partes)\b|\p{Lu}[\p{L}&.-]*(?:\s+(?:\p{Lu}[\p{L}&.-]*|&|y)){0,4},?\s+(?:S\.\s?A\.(?:\s+de\s+C\.\s?V\.)?|S\.\s?L\.|S\.\s?A\.\s?S\.|S\.\s?R\.\s?L\.|Ltda\.)|\b(?:[Ee]l|[Ll]a|[Ll]os|[Ll]as)\s+\p{Lu}[\p{L}-]*)";
    Grammar {
        binds: vec![
            compile(&format!(
                r"{party}{APPOSITION}\s+(?P<not>no\s+)?(?P<modal>se\s+obligan?\s+a|se\s+comprometen?\s+a|(?:está|están|queda|quedan|quedará|quedarán)\s+obligad[oa]s?\s+a|deber(?:á|án)|deben?|se\s+abstendrán?\s+de|(?:se\s+)?\p{{Ll}}+(?:ará|erá|irá)n?)\s+{ACTION}"
            )),
            present::spanish_bind(party),
        ]
        .into_iter()
        .chain(pronoun::spanish())
        .chain(present::spanish_verb_first_binds(
            &pronoun::FUTURE_STEMS_ES.join("|"),
        ))
        .chain(incumbent::spanish())
        .collect(),
        antecedent: pronoun::spanish_antecedent,
        earlier: Some(earlier::spanish),
        present: Some(present::spanish()),
        judge: |caps| {
            let modal = caps.name("modal")?.as_str();
            let verb = modal.strip_prefix("se ").unwrap_or(modal);
            const NOT_DUTIES: [&str; 7] = [
                "será",
                "podrá",
                "tendrá",
                "estará",
                "habrá",
                "responderá",
                "corresponderá",
            ];
            let singular = verb.strip_suffix('n').unwrap_or(verb);
            if NOT_DUTIES.contains(&singular) || singular == "quedará" {
                return None;
            }
            Some(caps.name("not").is_some() || modal.contains("abstendr"))
        },
        not_subject: |_| false,
        not_parties: NOT_PARTIES_ES,
        within: compile(&format!(
            r"(?i)(?:dentro\s+de(?:\s+los|\s+las)?|en\s+(?:un|el)\s+plazo\s+(?:máximo\s+)?de|antes\s+de\s+(?:que\s+transcurran\s+)?)\s+{WRITTEN_NUMBER}\s+(?P<unit>días|semanas|mes(?:es)?)(?:\s+(?:naturales|hábiles|calendario))?(?:\s+(?:siguientes\s+a|desde|a\s+partir\s+de|contados\s+(?:desde|a\s+partir\s+de)|posteriores\s+a|tras)\s+(?P<after>[^.,;]{{1,80}}))?"
        )),
        by_date: due_date(r"(?:antes\s+del?|a\s+más\s+tardar\s+el|hasta\s+el|el\s+día|el)\s+"),
        recurs: recurrences([
            (r"diari[ao]s?|diariamente|cada\s+día", "daily"),
            (r"semanal\w*|cada\s+semana", "weekly"),
            (r"mensual\w*|cada\s+mes", "monthly"),
            (r"trimestral\w*|cada\s+trimestre", "quarterly"),
            (r"anual\w*|cada\s+año", "annually"),
        ]),
    }
}

/// The days a period's unit stands for in any of the languages: a week ("week",
/// "Woche", "semaine", "semana") is 7, a month ("Monat", "mois", "mes") 30.
pub(super) fn days_per(unit: &str) -> u32 {
    let unit = unit.to_lowercase();
    if unit.starts_with('w') || unit.starts_with("sem") {
        7
    } else if unit.starts_with('m') {
        30
    } else {
        1
    }
}
