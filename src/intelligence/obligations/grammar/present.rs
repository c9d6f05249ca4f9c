//! The present tense German, French and Spanish drafting uses for a duty: "Der Mieter
//! leistet eine Kaution", "Le Preneur verse un dépôt de garantie", "El Titular abona
//! cada factura". Every statement of those languages is in the present tense too ("Der
//! Vertrag beginnt", "Le Bailleur donne à bail"), so a present tense binds only when
//! its verb is one of doing one's part (paying, delivering, providing, performing the
//! work, keeping, informing), its party opens the sentence, and what follows is not a
//! warranty, a liability, a grant or what is done in the act of signing.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{compile, ACTION, APPOSITION};

/// How a language says a duty in the present tense.
pub(crate) struct PresentDuty {
    /// What a verb and the first words after it say that makes them no duty
    /// ("leistet Gewähr", "gewährt ein Darlehen", "entrega en este acto").
    pub not_duty: Regex,
    /// Whether the duty is negated, so a prohibition ("setzt keine Subunternehmer ein",
    /// "ne communique pas").
    pub negated: fn(&Captures<'_>) -> bool,
}

/// The verbs of doing one's part, third person singular and plural. Left out on
/// purpose: verbs of granting (but "gewährt" and "erteilt", for access and information,
/// with a loan, a right or a licence refused by `not_duty`), of warranting and of liability
/// ("garantit", "haftet", "responde"), of receiving ("erhält", "reçoit", "recibe"),
/// and verbs that also say what a party may or is ("kann", "ist", "peut", "puede").
const VERBS_DE: &str = "zahlt|zahlen|bezahlt|bezahlen|begleicht|begleichen|entrichtet|entrichten|\
    überweist|überweisen|erstattet|erstatten|vergütet|vergüten|leistet|leisten|liefert|liefern|\
    erbringt|erbringen|stellt|stellen|übernimmt|übernehmen|trägt|tragen|unterstützt|unterstützen|\
    berät|beraten|legt|legen|verarbeitet|verarbeiten|hält|halten|informiert|informieren|\
    unterrichtet|unterrichten|benachrichtigt|benachrichtigen|teilt|teilen|meldet|melden|sorgt|\
    sorgen|beachtet|beachten|wahrt|wahren|behandelt|behandeln|gibt|geben|übergibt|übergeben|\
    übermittelt|übermitteln|hinterlegt|hinterlegen|pflegt|pflegen|wartet|warten|führt|führen|\
    erstellt|erstellen|prüft|prüfen|installiert|installieren|betreibt|betreiben|überwacht|\
    überwachen|dokumentiert|dokumentieren|reinigt|reinigen|repariert|reparieren|behebt|beheben|\
    ersetzt|ersetzen|unterhält|unterhalten|gewährt|gewähren|erteilt|erteilen|setzt|setzen|\
    schult|schulen|entwickelt|entwickeln|versendet|versenden|sendet|senden|bewahrt|\
    bewahren";
const VERBS_FR: &str = "verse|versent|paie|paye|paient|payent|règle|règlent|rembourse|remboursent|\
    livre|livrent|fournit|fournissent|assure|assurent|prend|prennent|supporte|supportent|met|\
    mettent|remet|remettent|restitue|restituent|informe|informent|communique|communiquent|\
    notifie|notifient|signale|signalent|avertit|avertissent|transmet|transmettent|conserve|\
    conservent|garde|gardent|respecte|respectent|tient|tiennent|effectue|effectuent|réalise|\
    réalisent|exécute|exécutent|maintient|maintiennent|entretient|entretiennent|souscrit|\
    souscrivent|traite|traitent|conseille|conseillent|accompagne|accompagnent|assiste|\
    assistent|facture|facturent|émet|émettent|répare|réparent|remplace|remplacent|contrôle|\
    contrôlent|vérifie|vérifient|installe|installent|développe|développent|veille|veillent|\
    s['’]assure|s['’]assurent|s['’]acquitte|s['’]acquittent|envoie|envoient|forme|forment";
pub(crate) const VERBS_ES: &str =
    "paga|pagan|abona|abonan|satisface|satisfacen|reembolsa|reembolsan|\
    entrega|entregan|presta|prestan|suministra|suministran|proporciona|proporcionan|facilita|\
    facilitan|asume|asumen|mantiene|mantienen|conserva|conservan|custodia|custodian|informa|\
    informan|notifica|notifican|comunica|comunican|devuelve|devuelven|restituye|restituyen|\
    realiza|realizan|efectúa|efectúan|ejecuta|ejecutan|cumple|cumplen|respeta|respetan|trata|\
    tratan|guarda|guardan|revisa|revisan|repara|reparan|sustituye|sustituyen|reemplaza|\
    reemplazan|emite|emiten|factura|facturan|envía|envían|remite|remiten|presenta|presentan|\
    instala|instalan|desarrolla|desarrollan|asesora|asesoran|vela|velan|forma|forman";

/// A party, the present-tense verb (the group `present`) and the action after it;
/// `not` before the verb where the language negates there ("ne", "no").
fn bind(party: &str, not: &str, verbs: &str) -> Regex {
    compile(&format!(
        r"{party}{APPOSITION}\s+{not}(?P<present>{verbs})\b\s+{ACTION}"
    ))
}

pub(crate) fn german_bind(party: &str) -> Regex {
    bind(party, "", VERBS_DE)
}

/// The verb before its subject, after one opening phrase: "Monatlich legt die
/// Beraterin einen Bericht vor", "Bis zum dritten Werktag zahlt der Mieter die Miete".
/// The empty group `inverted` tells [`inverted_opening`] to judge what precedes the
/// verb.
pub(crate) fn german_inverted_bind() -> Regex {
    compile(&format!(
        r"(?P<inverted>)\b(?P<present>{VERBS_DE})\s+(?P<party>(?:der|die|das|jede|beide)\s+\p{{Lu}}[\p{{L}}-]*|(?P<pronoun>er|sie))\b\s+{ACTION}"
    ))
}

/// The object before the verb and the subject last: "Die Kosten der Anreise trägt der
/// Auftraggeber", "Den Transport übernimmt der Lieferant". The subject is told by its
/// nominative "der" closing the sentence; the object, which becomes the action, must
/// open it (the empty group `object` marks it). With "die" ("Die Ware liefert die
/// Lieferantin"), which does not tell subject from object, the rest of the text must
/// (`read` keeps it only where it binds "Lieferantin" elsewhere and never "Ware").
pub(crate) fn german_object_first_bind() -> Regex {
    compile(&format!(
        r"(?P<action>(?P<object>)(?:Die|Das|Den|Diese|Dieses|Diesen|Sämtliche|Alle)\s+[^.;:,?\n]{{2,120}}?)\s+(?P<present>{VERBS_DE})\s+(?P<party>(?:der|die)\s+\p{{Lu}}[\p{{L}}-]*)\s*(?:[.;\n]|$)"
    ))
}

/// What stands before a German main clause's verb when the verb comes before its
/// subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// One phrase of time, manner or circumstance ("Monatlich", "Bis zum dritten
    /// Werktag"): it may say when the duty is due.
    Phrase,
    /// A clause of condition or time and its comma ("Wenn der Kunde zahlt, ", "Gerät
    /// der Kunde in Verzug, so "): the duty binds once the clause holds, and a period
    /// said in it is the condition's ("mehr als 30 Tage in Verzug"), not the duty's.
    Clause,
}

/// How `before` (a sentence up to a verb that stands before its subject) opens the
/// main clause, if it is one phrase or one clause that may: a phrase of a few words
/// with no comma and no word of a condition, or a clause of condition or time ended by
/// its comma (German puts the main verb right after it), with no comma inside. A
/// phrase is not what is done in the act of signing ("Hiermit übergibt der Verkäufer
/// die Schlüssel").
pub(crate) fn inverted_opening(before: &str) -> Option<Opening> {
    static NUMBERING: LazyLock<Regex> = LazyLock::new(|| {
        compile(r"^\s*(?:(?:[(\[]?\d+[a-z]?[.)\]]?|§+\s*\d+\w*|(?:Art|Ziff|Nr)\.)\s*)*")
    });
    static NOT_OPENING: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"(?i)\b(?:wenn|falls|sofern|soweit|solange|ob|dass|sobald|nachdem|bevor|wer|was|hiermit|hierdurch)\b",
        )
    });
    static CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
        compile(&format!(
            r"^(?P<clause>[^,;:?]+(?:,\s*{INSERTED}[^,;:?]+,[^,;:?]+)?),\s*(?:so\s+|dann\s+)?$"
        ))
    });
    let phrase = NUMBERING.replace(before, "");
    if !phrase.trim_start().starts_with(char::is_uppercase) {
        return None;
    }
    let first = phrase
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if let Some(clause) = CLAUSE.captures(&phrase) {
        let words = clause["clause"].split_whitespace().count();
        let opens_clause =
            CLAUSE_OPENERS.contains(&first.as_str()) || CONDITIONAL_VERBS.contains(&first.as_str());
        return (opens_clause && (2..=25).contains(&words)).then_some(Opening::Clause);
    }
    let words = phrase.split_whitespace().count();
    // A phrase of time, manner or circumstance, never a subject ("Der Kunde liefert
    // die Ware" must not make "die Ware" a party): it begins with a preposition or an
    // adverb of the list, or an adverb in "-lich" ("Monatlich", "Unverzüglich").
    let adverbial = OPENING_WORDS.contains(&first.as_str()) || first.ends_with("lich");
    ((1..=8).contains(&words)
        && adverbial
        && !phrase.contains([',', ':', ';', '?'])
        && !NOT_OPENING.is_match(&phrase))
    .then_some(Opening::Phrase)
}

/// The words that open what a German clause of condition may hold between commas of its
/// own: a relative clause ("Wenn der Kunde, der Verbraucher ist, zahlt, ...") or an
/// insertion ("Gerät der Mieter, gleich aus welchem Grund, in Verzug, ...", "Wenn der
/// Kunde, ganz oder teilweise, vom Vertrag zurücktritt, ...").
pub(crate) const INSERTED: &str = r"(?:der|die|das|den|dem|deren|dessen|welche[rsmn]?|gleich|egal|gleichgültig|ganz|auch|insbesondere|beispielsweise|etwa|namentlich|ohne|trotz|entgegen|aus|mit|nach|vor|gemäß|laut|soweit\s+zulässig)\s";

/// Conjunctions that open a German clause of condition or time before a main clause:
/// "Wenn der Kunde zahlt, liefert der Lieferant die Ware".
pub(crate) const CLAUSE_OPENERS: &[&str] = &[
    "wenn", "falls", "sofern", "soweit", "insoweit", "solange", "sobald", "sooft", "nachdem",
    "bevor", "ehe", "während",
];

/// Verbs that open a German condition without a conjunction ("Gerät der Kunde in
/// Verzug, so zahlt der Kunde Verzugszinsen"; "Zahlt der Mieter nicht, ...").
pub(crate) const CONDITIONAL_VERBS: &[&str] = &[
    "gerät",
    "geraten",
    "kommt",
    "kommen",
    "ist",
    "sind",
    "hat",
    "haben",
    "wird",
    "werden",
    "verletzt",
    "verletzen",
    "überschreitet",
    "überschreiten",
    "verzögert",
    "verzögern",
    "unterlässt",
    "unterlassen",
    "erfolgt",
    "erfolgen",
    "tritt",
    "treten",
    "endet",
    "enden",
    "kündigt",
    "kündigen",
    "verstößt",
    "verstoßen",
    "zahlt",
    "zahlen",
    "liefert",
    "liefern",
    "leistet",
    "leisten",
    "erbringt",
    "erbringen",
];

/// First words of a phrase that opens a German main clause before its verb.
const OPENING_WORDS: &[&str] = &[
    "ab",
    "am",
    "an",
    "auf",
    "aus",
    "bei",
    "beim",
    "bis",
    "binnen",
    "für",
    "gegen",
    "im",
    "in",
    "innerhalb",
    "mit",
    "nach",
    "seit",
    "spätestens",
    "über",
    "unter",
    "vor",
    "vom",
    "von",
    "während",
    "zu",
    "zum",
    "zur",
    "jeweils",
    "zudem",
    "ferner",
    "außerdem",
    "darüber",
    "hierfür",
    "dafür",
    "hierzu",
    "dazu",
    "daneben",
    "insbesondere",
    "ebenso",
    "weiterhin",
    "sodann",
    "anschließend",
    "danach",
    "zuvor",
    "vorab",
    "jeden",
    "jede",
    "jedes",
    "einmal",
    "halbjährlich",
    "quartalsweise",
    "täglich",
];

pub(crate) fn french_bind(party: &str) -> Regex {
    bind(party, r"(?P<not>ne\s+|n['’])?", VERBS_FR)
}

/// The verb before its subject: "Deberá el Arrendador notificar cualquier cambio", "En
/// caso de impago, abonará el Arrendatario un interés", "Abona el Titular cada
/// factura". The empty group `verb_first` marks where the verb (or its "no") begins,
/// so that what opens the sentence before it is judged.
pub(crate) fn spanish_verb_first_binds(futures: &str) -> [Regex; 2] {
    let party = r"(?P<party>(?:el|la|los|las)\s+\p{Lu}[\p{L}-]*)";
    [
        compile(&format!(
            r"(?P<verb_first>)\b(?P<not>[Nn]o\s+)?(?P<modal>[Dd]eber(?:á|án)|(?i:{futures})án?)\s+{party}{APPOSITION}\s+{ACTION}"
        )),
        compile(&format!(
            r"(?P<verb_first>)\b(?P<not>[Nn]o\s+)?(?P<present>(?i:{VERBS_ES}))\s+{party}{APPOSITION}\s+{ACTION}"
        )),
    ]
}

pub(crate) fn spanish_bind(party: &str) -> Regex {
    bind(party, r"(?P<not>no\s+)?", VERBS_ES)
}

/// Refusals of a verb and the first words after it: `(?i)` and anchored at the verb.
fn not_duty(refusals: &str) -> Regex {
    compile(&format!(r"(?i)^(?:{refusals})"))
}

pub(crate) fn german() -> PresentDuty {
    PresentDuty {
        not_duty: not_duty(concat!(
            // A grant: "gewährt dem Darlehensnehmer ein Darlehen", "erteilt eine Lizenz".
            r"(?:gewährt|gewähren|erteilt|erteilen)\s+(?:\S+\s+){0,4}?(?:Darlehen|Kredit|Nutzungsrechte?|Rechte?|Lizenz(?:en)?|Vollmacht)\b",
            // A warranty or a liability: "leistet Gewähr", "übernimmt keine Haftung",
            // "gibt keine Garantie".
            r"|(?:übernimmt|übernehmen|leistet|leisten|gibt|geben)\s+(?:\S+\s+){0,2}?(?:Gewähr|Garantie|Haftung)\b",
            // Who bears a risk: "trägt die Gefahr des zufälligen Untergangs".
            r"|(?:trägt|tragen)\s+(?:\S+\s+){0,2}?(?:Risiko|Gefahr|Beweislast)\b",
            // Done in the act of signing: "übergibt hiermit".
            r"|\S+\s+(?:\S+\s+){0,3}?(?:hiermit|hierdurch)\b",
            // Only the subject after the verb: "Die Kosten trägt der Käufer" is read
            // with its object first, not as a duty of "Die Kosten".
            r"|\S+\s+der\s+\p{Lu}[\p{L}-]*\s*$",
        )),
        negated: |caps| super::negated_german(&caps["action"]),
    }
}

pub(crate) fn french() -> PresentDuty {
    PresentDuty {
        not_duty: not_duty(concat!(
            // A warranty: "assure que le service est disponible".
            r"\S+\s+(?:que\b|qu['’])",
            r"|(?:assure|assurent|supporte|supportent|prend|prennent)\s+(?:\S+\s+){0,3}?responsabilité",
            r"|\S+\s+(?:\S+\s+){0,4}?par\s+les\s+présentes\b",
        )),
        negated: |caps| caps.name("not").is_some(),
    }
}

pub(crate) fn spanish() -> PresentDuty {
    PresentDuty {
        not_duty: not_duty(concat!(
            r"\S+\s+que\b",
            r"|(?:asume|asumen)\s+(?:\S+\s+){0,2}?responsabilidad",
            // Done in the act of signing: "entrega en este acto una fianza".
            r"|\S+\s+(?:\S+\s+){0,4}?en\s+este\s+acto\b",
        )),
        negated: |caps| caps.name("not").is_some(),
    }
}

/// Whether the words of a sentence before its party only number or head it ("(1) ",
/// "§ 3 ", "PRIMERA: ", "Gegenstand: ") or open it with a phrase and a comma ("En
/// contrepartie, "): the party is the subject of the sentence's main clause, not of a
/// clause inside it ("Informationen, die der Auftragnehmer ...", "Si le Client ...").
pub(crate) fn opens_sentence(before: &str) -> bool {
    static OPENING: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"^(?:\s*(?:[(\[]?\d+[a-z]?[.)\]]?|§+\s*\d+\w*|(?:Art|Ziff|Nr)\.|\p{Lu}[\p{L}-]*(?:\s+\p{L}+){0,2}\s*[:.–-]))*\s*(?:\p{Lu}[\p{L}\s'’-]{1,40},)?\s*$",
        )
    });
    OPENING.is_match(before)
}

impl PresentDuty {
    /// Whether a present-tense match binds, and if so whether it forbids.
    pub fn judge(&self, caps: &Captures<'_>) -> Option<bool> {
        let said = format!(
            "{} {}",
            caps.name("present")?.as_str(),
            caps.name("action")?.as_str()
        );
        if self.not_duty.is_match(&said) {
            return None;
        }
        Some((self.negated)(caps))
    }
}
