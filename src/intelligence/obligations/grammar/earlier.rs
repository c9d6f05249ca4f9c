//! A duty whose party is a pronoun that opens its sentence, or in Spanish is left
//! unsaid there, and stands for the party bound by the sentence just before it: "The
//! Supplier shall deliver the Goods. It shall also install them", "Le Prestataire livre
//! le matériel. Il doit également l'installer", "Der Mieter zahlt die Miete. Er hat
//! ferner die Nebenkosten zu tragen", "El Arrendatario abonará la renta. Asimismo,
//! deberá abonar los suministros".
//!
//! Drafting puts a defined term where it means a party, so a pronoun that opens a
//! sentence more often stands for the thing the sentence before spoke of ("The
//! Supplier shall deliver the Software. It shall run on the Customer's servers", "...
//! a monthly report. It shall include ..."). It is read as the party only when each of
//! these holds:
//!
//! - the sentence before binds one party, named at its start (after a number or an
//!   opening phrase), with one verb that binds ("shall", "doit", "abonará"), and
//!   nothing but white space lies between the two sentences;
//! - the pronoun agrees with that party: "it" with a party that is not several ("the
//!   Parties"), "they" only with several (for one it more often means the things just
//!   delivered), never "he" or "she", which mostly stand for a person the sentence
//!   before appoints; "il" with "le" or "l'", "elle" with "la" or "l'", "ils" and
//!   "elles" with "les"; "Er" with "der", "Sie" with "die" (the verbs read after it are
//!   singular, which the polite "Sie" is not); a Spanish verb in the plural with
//!   "los", "las" or "ambas";
//! - the pronoun's verb is one of doing one's part (paying, delivering, notifying,
//!   keeping, ...), which things do not do ("run", "include", "contain", "comply with",
//!   "fonctionner", "entsprechen", "incluir" are not among them);
//! - the sentence before names no other party of the contract and no one else who could
//!   act ("a subcontractor", "un sous-traitant", "einen Subunternehmer", "un tercero"): "The Supplier shall
//!   deliver the Goods to the Customer. It shall inspect them" may mean either.

use std::sync::LazyLock;

use regex::Regex;

use super::compile;
use super::pronoun::NUMBERING;

/// What the sentence before a pronoun says, and what the pronoun's own sentence does.
pub(crate) struct Earlier<'a> {
    /// "it", "they", "il", "elle"; empty where Spanish leaves it unsaid.
    pub pronoun: &'a str,
    /// What binds it: "shall", "doit", "s'engage à", "versera", "deberá", "abonará".
    pub verb: &'a str,
    /// The party the sentence before binds, as it names it ("The Supplier").
    pub party: &'a str,
    /// The sentence before, whole.
    pub sentence: &'a str,
    /// What the pronoun's sentence binds it to ("also install them").
    pub action: &'a str,
    /// Every party the contract binds by name, as [`name_of`] gives them.
    pub parties: &'a [String],
}

/// A pronoun's sentence opens with it, after at most a number ("4.2 ", "(b) ") and a
/// word that carries on ("Furthermore, ", "En outre, ", "Asimismo, "); or, in German,
/// which puts the verb second, after such a word and the verb ("Ferner hat er",
/// "Monatlich zahlt er"). A German verb first alone opens a condition ("Zahlt er
/// nicht, ..."), not a duty.
pub(crate) fn opens_with_pronoun(before: &str) -> bool {
    static OPENING: LazyLock<Regex> = LazyLock::new(|| {
        compile(&format!(
            r"{NUMBERING}(?:(?:In\s+addition|Furthermore|Further|Additionally|Moreover|Also|Likewise|Similarly|Thereafter|Subsequently|Then|En\s+outre|De\s+plus|Par\s+ailleurs|De\s+même|Également|Ensuite|Asimismo|Además|Igualmente|También|Del\s+mismo\s+modo|Por\s+otra\s+parte|En\s+particular),?\s+|(?:Ferner|Außerdem|Zudem|Weiterhin|Ebenso|Daneben|Darüber\s+hinaus|Zusätzlich|Auch|Insbesondere|Ebenfalls|\p{{Lu}}\p{{Ll}}+lich)\s+\p{{Ll}}+\s+)?$",
        ))
    });
    OPENING.is_match(before)
}

/// A party's name without its article, as other sentences may name it ("Supplier" for
/// "The Supplier", "Preneur" for "Le Preneur", "Kunde" for "Der Kunde", "Arrendatario"
/// for "El Arrendatario").
pub(crate) fn name_of(party: &str) -> &str {
    let party = party.trim();
    ARTICLES
        .iter()
        .find_map(|article| party.strip_prefix(article))
        .unwrap_or(party)
}

const ARTICLES: [&str; 22] = [
    "The ", "the ", "Le ", "le ", "La ", "la ", "Les ", "les ", "L'", "L’", "l'", "l’", "Der ",
    "der ", "Die ", "die ", "Das ", "das ", "El ", "el ", "Los ", "Las ",
];

/// Whether the sentence before leaves `earlier.party` as the only one a pronoun may
/// stand for: at most one modal in it (`duties` counts them, a present tense is not
/// among them: the rules read "The Supplier shall deliver and the Customer shall pay"
/// as one duty), and it names no other party and no one else who could act.
fn one_party_before(earlier: &Earlier<'_>, duties: &Regex) -> bool {
    let own = name_of(earlier.party);
    let others_named = earlier
        .parties
        .iter()
        .filter(|other| other.as_str() != own)
        .any(|other| names(earlier.sentence, other));
    duties.find_iter(earlier.sentence).count() <= 1
        && !others_named
        && !ANOTHER_ACTOR.is_match(earlier.sentence)
}

/// Whether an English pronoun that opens its sentence stands for the party the
/// sentence before binds.
pub(crate) fn english(earlier: &Earlier<'_>) -> bool {
    static DUTIES: LazyLock<Regex> =
        LazyLock::new(|| compile(&format!(r"(?i)\b(?:{})\b", super::MODALS_EN)));
    let several = earlier.party.to_lowercase().ends_with("parties");
    let agrees = match earlier.pronoun {
        "it" => !several,
        "they" => several,
        _ => false,
    };
    agrees && doing_ones_part(earlier.action) && one_party_before(earlier, &DUTIES)
}

/// Whether a French pronoun that opens its sentence stands for the party the sentence
/// before binds: its article agrees, and its verb is one of doing one's part (a
/// present tense the rules read is one already; after "doit" or "s'engage à", the
/// infinitive; a future, its own stem). "s'interdit de" forbids whatever follows.
pub(crate) fn french(earlier: &Earlier<'_>) -> bool {
    static DUTIES: LazyLock<Regex> =
        LazyLock::new(|| compile(&format!(r"\b(?:{})\b", super::MODALS_FR)));
    let article = earlier
        .party
        .split([' ', '\'', '’'])
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let elided = earlier.party.contains(['\'', '’']) && article == "l";
    let agrees = match earlier.pronoun {
        "il" => article == "le" || elided,
        "elle" => article == "la" || elided,
        "ils" | "elles" => article == "les",
        _ => false,
    };
    agrees && french_duty(earlier.verb, earlier.action) && one_party_before(earlier, &DUTIES)
}

/// Whether a German "Er" or "Sie" that opens its sentence stands for the party the
/// sentence before binds: "er" for "der", "sie" for "die" and one party (the verbs read
/// after it are singular, so the polite "Sie", which takes the plural, is not read),
/// and the infinitive it is bound to is one of doing one's part ("hat ... zu zahlen",
/// "ist ferner verpflichtet, ... mitzuteilen", "muss ... reinigen"; a present tense
/// after an adverb, "Monatlich legt er ... vor", is one); "darf ... nicht" forbids
/// whatever it names.
pub(crate) fn german(earlier: &Earlier<'_>) -> bool {
    static DUTIES: LazyLock<Regex> = LazyLock::new(|| {
        compile(r"\b(?:verpflichte[nt]|hat|haben|muss|müssen|wird|werden|darf|dürfen)\b")
    });
    let party = earlier.party.to_lowercase();
    let agrees = match earlier.pronoun {
        "er" => party.starts_with("der "),
        "sie" => party.starts_with("die ") && !party.ends_with("parteien"),
        _ => false,
    };
    let verb = earlier.verb.to_lowercase();
    let forbids = verb.starts_with("darf");
    // A present tense the rules read ("Monatlich legt er ... vor") is a verb of doing
    // one's part already; a modal's infinitive must be one.
    let modal = ["hat", "muss", "ist", "verpflichtet"]
        .iter()
        .any(|modal| verb.starts_with(modal));
    agrees
        && (forbids || !modal || german_infinitive_of_a_duty(earlier.action))
        && one_party_before(earlier, &DUTIES)
}

/// Whether a German duty's clause holds an infinitive of doing one's part: after "zu"
/// ("zu zahlen"), with "zu" inside a separable verb ("mitzuteilen", "zurückzugeben"),
/// or at the clause's end after "muss" ("reinigen").
fn german_infinitive_of_a_duty(action: &str) -> bool {
    const SEPARABLE: [&str; 13] = [
        "ab", "an", "auf", "aus", "bei", "ein", "fest", "her", "heraus", "mit", "nach", "vor",
        "zurück",
    ];
    let clause = action.split([',', ';', '(']).next().unwrap_or(action);
    let words: Vec<String> = clause
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    let separable = |word: &str| {
        SEPARABLE.iter().any(|prefix| {
            word.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix("zu"))
                .is_some_and(|rest| listed(INFINITIVES_DE, &format!("{prefix}{rest}")))
        })
    };
    let after_zu = words
        .windows(2)
        .any(|pair| pair[0] == "zu" && listed(INFINITIVES_DE, &pair[1]));
    let last = words
        .last()
        .is_some_and(|word| listed(INFINITIVES_DE, word));
    after_zu || last || words.iter().any(|word| separable(word))
}

/// German infinitives of doing one's part, separable ones whole ("mitteilen").
const INFINITIVES_DE: &str = "\
    zahlen bezahlen begleichen entrichten überweisen erstatten vergüten leisten liefern \
    erbringen stellen bereitstellen übernehmen tragen informieren unterrichten \
    benachrichtigen mitteilen melden anzeigen beachten einhalten wahren behandeln geben \
    übergeben herausgeben zurückgeben übermitteln hinterlegen pflegen warten führen \
    erstellen prüfen installieren betreiben überwachen dokumentieren reinigen reparieren \
    beheben ersetzen schulen versenden senden bewahren aufbewahren räumen abschließen \
    unterhalten nachweisen vorlegen unterlassen mitwirken unterstützen sorgen vornehmen \
    durchführen ausführen abtreten untervermieten überlassen offenlegen verwenden nutzen \
    einsetzen beauftragen abwerben versichern zustellen vorhalten ablegen";

/// Whether a Spanish duty whose subject is unsaid belongs to the party the sentence
/// before binds: the verb's number agrees, and it is one of doing one's part (the
/// futures the rules read are; after "deberá" or "se obliga a", the infinitive).
pub(crate) fn spanish(earlier: &Earlier<'_>) -> bool {
    static DUTIES: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"(?i)\b(?:deber(?:á|án)|deben?|se\s+obligan?|se\s+comprometen?|obligad[oa]s?|se\s+abstendrán?|\p{Ll}+(?:ará|erá|irá)n?)\b",
        )
    });
    let party = earlier.party.to_lowercase();
    let several = ["los ", "las ", "ambas "]
        .iter()
        .any(|article| party.starts_with(article));
    let plural_verb = earlier
        .verb
        .split_whitespace()
        .any(|word| word.len() > 2 && word.ends_with('n'));
    let verb = earlier.verb.to_lowercase();
    // A future the rules read is a verb of doing one's part already; a modal's
    // infinitive must be one.
    let modal = ["deber", "se obliga", "se comprome"]
        .iter()
        .any(|modal| verb.starts_with(modal));
    let bound_to_act = !modal || first_word_in(earlier.action, INFINITIVES_ES);
    several == plural_verb
        && bound_to_act
        && !opens_with_a_party(earlier)
        && one_party_before(earlier, &DUTIES)
}

/// Whether a Spanish action opens with a name that may be its subject after the verb
/// ("Abonará el Arrendatario la renta"): any name but one of the things a contract is
/// about ("Abonará la Renta", whose subject is unsaid). Which one it is, the rules
/// cannot tell from the sentence: a name the contract binds elsewhere is read as the
/// subject (`obligations::told_by_parties`), and any other leaves the sentence unread.
fn opens_with_a_party(earlier: &Earlier<'_>) -> bool {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| compile(r"^\s*(?:el|la|los|las)\s+(?P<name>\p{Lu}[\p{L}-]*)"));
    NAME.captures(earlier.action)
        .is_some_and(|caps| !super::NOT_PARTIES_ES.contains(&caps["name"].to_lowercase().as_str()))
}

/// Whether `sentence` names `party` as a word of its own, or declined ("Customer",
/// "Customers", "den Kunden", "des Mieters"; not "Customer-facing").
fn names(sentence: &str, party: &str) -> bool {
    sentence.match_indices(party).any(|(at, _)| {
        let before = sentence[..at].chars().next_back();
        let rest = &sentence[at + party.len()..];
        let rest = ["en", "es", "n", "s"]
            .iter()
            .find_map(|ending| rest.strip_prefix(ending))
            .unwrap_or(rest);
        let after = rest.chars().next();
        !before.is_some_and(char::is_alphanumeric)
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-')
    })
}

/// Someone a sentence may bring in who could then be the pronoun's subject, named as a
/// common noun ("a subcontractor", "its auditors", "un sous-traitant", "un tercero");
/// parties named as defined terms are the contract's parties.
static ANOTHER_ACTOR: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"\b(?i:a|an|any|one|its|such|each|the)\s+(?:\p{Ll}+\s+)?(?:sub-?contractors?|agents?|affiliates?|contractors?|consultants?|compan(?:y|ies)|entit(?:y|ies)|persons?|providers?|suppliers?|vendors?|banks?|insurers?|auditors?|managers?|representatives?|employees?|officers?|directors?|engineers?|third\s+part(?:y|ies)|successors?|assignees?|firms?|licensees?|distributors?|carriers?|couriers?|experts?|arbitrators?)\b",
        r"|\b(?i:un|une|des|tout|toute|son|sa|ses|le|la|les|l['’])\s*(?:sous-traitants?|tiers|sociétés?|agents?|mandataires?|représentants?|salariés?|préposés?|techniciens?|experts?|auditeurs?|transporteurs?|assureurs?|banques?|prestataires?|fournisseurs?|cessionnaires?|successeurs?)\b",
        r"|\b(?i:einen?|einem|einer|eines|seine[nmr]?|ihre[nmr]?|den|die|der|dem)\s+(?:\p{Ll}+\s+)?(?:Subunternehmer|Unterauftragnehmer|Nachunternehmer|Dritte[nmr]?|Unternehmen|Vertreter|Mitarbeiter|Erfüllungsgehilfen|Sachverständigen|Prüfer|Gutachter|Spediteur|Versicherer|Bank|Dienstleister|Lieferanten)\b",
        r"|\b(?i:un|una|unos|unas|cualquier|su|sus|el|la|los|las)\s+(?:subcontratistas?|terceros?|empresas?|sociedad(?:es)?|agentes?|representantes?|empleados?|técnicos?|peritos?|auditor(?:es)?|transportistas?|asegurador(?:a|es)?|bancos?|proveedor(?:es)?|cesionarios?|sucesor(?:es)?)\b",
    ))
});

/// Whether an action's first word, after words that only qualify it ("également",
/// "asimismo", a word in "-ment" or "-mente") and an object pronoun ("l'installer",
/// "entregarlas"), is one of `verbs`.
fn first_word_in(action: &str, verbs: &str) -> bool {
    static WORD: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"(?i)^\s*(?:(?:également|aussi|en\s+outre|par\s+ailleurs|notamment|asimismo|también|además|igualmente|\p{L}+ment|\p{L}+mente),?\s+)*(?:(?:le|la|les|lui|leur|en|y|se)\s+|[ls]['’]\s*)?(?P<verb>\p{L}[\p{L}-]*)",
        )
    });
    let Some(caps) = WORD.captures(action) else {
        return false;
    };
    let verb = caps["verb"].to_lowercase();
    // A Spanish infinitive carries its object pronoun: "abonarlos", "entregársela".
    let bare = [
        "selas", "selos", "sela", "selo", "las", "los", "la", "lo", "les", "le", "se",
    ]
    .iter()
    .filter_map(|clitic| verb.strip_suffix(clitic))
    .chain(std::iter::once(verb.as_str()));
    let unaccented = |word: &str| word.replace('á', "a").replace('é', "e").replace('í', "i");
    bare.into_iter()
        .any(|word| listed(verbs, word) || listed(verbs, &unaccented(word)))
}

/// Whether a French duty's verb is one of doing one's part: the infinitive after a
/// modal, or the verb itself in the future or the present.
fn french_duty(verb: &str, action: &str) -> bool {
    let verb = verb.to_lowercase();
    if verb.contains("interdi") {
        return true;
    }
    let modal = [
        "doi",
        "devr",
        "s'engage",
        "s’engage",
        "s'oblige",
        "s’oblige",
        "est ",
        "sont ",
        "sera ",
        "seront ",
    ]
    .iter()
    .any(|modal| verb.starts_with(modal));
    if modal {
        return first_word_in(action, INFINITIVES_FR);
    }
    // A future: "versera", "fournira", "remettra", "paiera"; a present the rules read
    // ("verse") is a verb of doing one's part already.
    match verb.strip_suffix("ont").or_else(|| verb.strip_suffix('a')) {
        Some(stem) if verb.ends_with("ra") || verb.ends_with("ront") => {
            listed(FUTURE_STEMS_FR, stem)
                || INFINITIVES_FR.split_whitespace().any(|infinitive| {
                    infinitive == stem || infinitive.strip_suffix('e') == Some(stem)
                })
        }
        _ => true,
    }
}

/// Whether `word` is one of the words of `list`, which white space parts.
fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|listed| listed == word)
}

/// French infinitives of doing one's part.
const INFINITIVES_FR: &str = "\
    payer verser régler rembourser acquitter livrer fournir remettre transmettre \
    communiquer informer notifier aviser prévenir avertir signaler installer \
    entretenir maintenir conserver garder assurer souscrire réparer remplacer \
    restituer rendre effectuer réaliser exécuter accomplir respecter tenir prendre \
    faire mettre procéder facturer envoyer adresser présenter justifier produire \
    établir déclarer former assister participer coopérer collaborer désigner nommer \
    protéger détruire supprimer supporter nettoyer libérer quitter user contrôler \
    vérifier déposer archiver sauvegarder héberger corriger traiter conseiller \
    accompagner émettre développer veiller réunir céder sous-traiter sous-louer \
    divulguer révéler utiliser transférer concurrencer";

/// Irregular French future stems of verbs of doing one's part.
const FUTURE_STEMS_FR: &str = "\
    paier fer tiendr maintiendr entretiendr enverr prendr mettr remettr transmettr \
    rendr souscrir produir détruir";

/// Spanish infinitives of doing one's part.
const INFINITIVES_ES: &str = "\
    pagar abonar satisfacer reembolsar entregar prestar suministrar proporcionar \
    facilitar mantener conservar custodiar informar notificar comunicar devolver \
    restituir realizar efectuar ejecutar cumplir respetar tratar guardar revisar \
    reparar sustituir reemplazar emitir facturar enviar remitir presentar instalar \
    desarrollar asesorar velar contratar asumir sufragar costear soportar asegurar \
    limpiar desalojar permitir designar nombrar formar asistir colaborar cooperar \
    proteger destruir suprimir verificar controlar depositar constituir hacerse hacer \
    tomar adoptar poner llevar obtener acreditar justificar corregir subsanar \
    indemnizar documentar registrar reunir ceder subarrendar traspasar divulgar \
    revelar utilizar usar transferir subcontratar competir";

/// The verbs of doing one's part an English duty opens with, after words that only
/// qualify it ("also", "promptly", "at its own cost,").
fn doing_ones_part(action: &str) -> bool {
    static VERB: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"(?i)^\s*(?:,[^,]{1,80},\s*)?(?:(?:also|further|additionally|then|thereafter|\w+ly|at\s+all\s+times|at\s+its\s+(?:own\s+)?(?:cost|expense)|in\s+addition),?\s+)*(?P<verb>[a-z-]+)\b",
        )
    });
    const VERBS: &str = "\
        pay deliver provide supply furnish notify inform advise install maintain keep \
        ensure procure obtain return indemnify defend hold insure submit send give perform \
        invoice reimburse refund repair replace remedy correct cooperate co-operate assist \
        attend bear retain destroy delete protect register report respond remove train \
        supervise use make take implement test inspect accept review update upgrade \
        support collect store preserve transfer grant execute sign settle reply fix \
        resolve investigate document record monitor arrange secure fund deposit compensate \
        honour honor observe seek verify confirm prepare produce issue file complete \
        commence cease refrain treat handle process employ hire engage appoint nominate \
        designate mitigate cure disclose permit allow carry remit render reconcile certify \
        license assign tell warn consult meet participate purchase buy order acquire clean \
        vacate";
    VERB.captures(action)
        .is_some_and(|caps| listed(VERBS, &caps["verb"].to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn earlier<'a>(pronoun: &'a str, sentence: &'a str, action: &'a str) -> Earlier<'a> {
        Earlier {
            pronoun,
            verb: "shall",
            party: "The Supplier",
            sentence,
            action,
            parties: &[],
        }
    }

    #[test]
    fn a_pronoun_opens_its_sentence_after_a_number_or_a_word_that_carries_on() {
        for before in ["", "4.2 ", "(b) ", "Furthermore, ", "(c) In addition, "] {
            assert!(opens_with_pronoun(before), "{before:?}");
        }
        for before in ["Upon request, ", "If the Customer pays, ", "and "] {
            assert!(!opens_with_pronoun(before), "{before:?}");
        }
    }

    #[test]
    fn the_verb_tells_a_party_from_a_thing() {
        let sentence = "The Supplier shall deliver the Goods.";
        for action in [
            "also install them",
            "promptly notify the Customer",
            ", at its own cost, repair any damage",
        ] {
            assert!(english(&earlier("it", sentence, action)), "{action}");
        }
        for action in [
            "run on the servers",
            "include the figures",
            "comply with the law",
        ] {
            assert!(!english(&earlier("it", sentence, action)), "{action}");
        }
    }

    #[test]
    fn another_party_or_actor_in_the_sentence_before_leaves_the_pronoun_unread() {
        let parties = ["Supplier".to_owned(), "Customer".to_owned()];
        let with = |sentence| Earlier {
            parties: &parties,
            ..earlier("it", sentence, "inspect them")
        };
        assert!(english(&with("The Supplier shall deliver the Goods.")));
        assert!(!english(&with(
            "The Supplier shall deliver the Goods to the Customer."
        )));
        assert!(!english(&with(
            "The Supplier shall appoint a subcontractor."
        )));
        // A word that holds a party's name is not the party.
        assert!(english(&with(
            "The Supplier shall keep the Customer-facing portal running."
        )));
    }

    #[test]
    fn they_stands_for_several_and_he_or_she_for_no_party() {
        let sentence = "The Supplier shall deliver the Goods.";
        assert!(!english(&earlier("they", sentence, "install them")));
        assert!(!english(&earlier("he", sentence, "attend the meetings")));
        let parties = Earlier {
            party: "The Parties",
            ..earlier("they", "The Parties shall meet monthly.", "keep minutes")
        };
        assert!(english(&parties));
        assert!(!english(&Earlier {
            pronoun: "it",
            ..parties
        }));
    }
}
