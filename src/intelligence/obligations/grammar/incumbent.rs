//! Duties laid on a party that is not the sentence's subject, as German, French and
//! Spanish drafting often says them: "Es obliegt dem Auftragnehmer, ...", "Dem Mieter
//! ist es untersagt, ...", "Il incombe au Prestataire de ...", "Les frais sont à la
//! charge du Preneur", "Corresponde al Arrendatario ...", "Serán de cuenta del
//! Arrendatario los gastos". The party is named after a preposition or in the dative,
//! so it is listed as the text names it there, without its article ("Prestataire").
//!
//! Each pattern names its formula `charge` (not `modal`), which [`judge`] reads.

use regex::{Captures, Regex};

use super::{compile, ACTION};

/// A party named after a preposition: a capitalised name of up to five words, with
/// points between letters only ("S.A"), so that it never runs on into the next
/// sentence ("... de l'Acquéreur. Les frais ...").
const NAME: &str =
    r"(?P<party>\p{Lu}(?:[\p{L}&'’-]|\.\p{L})*(?:\s+(?:\p{Lu}(?:[\p{L}&'’-]|\.\p{L})*|&)){0,4})";
/// [`NAME`] for a pattern's second place a party can stand in, in the group `party_2`.
fn second_name() -> String {
    NAME.replace("party", "party_2")
}

/// What a cost or a duty is that is said before the formula: "Les frais
/// d'enregistrement", "Los gastos de comunidad". Its own words, in the group `action`.
const SAID_BEFORE: &str = r"(?P<action>\p{Lu}[^.;:\n]{3,200}?)";

pub(crate) fn german() -> Vec<Regex> {
    let dative = r"(?:dem|der|den)\s+";
    vec![
        // "Es obliegt dem Auftragnehmer, die Anlage zu warten"; "Es ist dem Mieter
        // untersagt, ...".
        compile(&format!(
            r"\b[Ee]s\s+(?:(?P<charge>obliegt|obliegen)\s+{dative}{NAME}|ist\s+{dative}{NAME_2}\s+(?P<charge_2>untersagt|verboten))\s*,?\s+{ACTION}",
            NAME_2 = second_name(),
        )),
        // "Dem Mieter obliegt die Pflege der Räume"; "Dem Mieter ist es untersagt, ...".
        compile(&format!(
            r"\b(?:[Dd]em|[Dd]er|[Dd]en)\s+{NAME}\s+(?P<charge>obliegt|obliegen|ist\s+(?:es\s+)?untersagt|ist\s+(?:es\s+)?verboten)(?:\s+es)?\s*,?\s+{ACTION}"
        )),
    ]
}

pub(crate) fn french() -> Vec<Regex> {
    let to = r"(?:(?:au|aux|à\s+la|à)\s+|à\s+l['’])";
    let of = r"(?:(?:du|des|de\s+la|de)\s+|de\s+l['’])";
    vec![
        // "Il incombe au Prestataire de vérifier ...", "Il est interdit au Preneur de
        // sous-louer ...".
        compile(&format!(
            r"\b[Ii]l\s+(?P<charge>incombe(?:ra)?|appartient|appartiendra|est\s+interdit|sera\s+interdit)\s+{to}{NAME}\s*,?\s+(?:de\s+|d['’]){ACTION}"
        )),
        // "Sont à la charge du Preneur les réparations locatives": the verb opens the
        // sentence (in the middle of one, what follows the party is no cost: "... ne
        // seront à la charge du Client que pour ...").
        compile(&format!(
            r"\b(?P<charge>(?:Sont|Est|Seront|Sera|Restent|Reste|Demeurent|Demeure)\s+à\s+la\s+charge)\s+{of}{NAME}\s*,?\s+{ACTION}"
        )),
        // "Les frais d'enregistrement sont à la charge du Preneur", "Les réparations
        // incombent au Preneur".
        compile(&format!(
            r"{SAID_BEFORE}\s+(?:(?P<charge>(?:sont|est|seront|sera|restent|reste|demeurent|demeure)\s+à\s+la\s+charge)\s+{of}{NAME}|(?P<charge_2>incombe(?:nt|ra|ront)?)\s+{to}{NAME_2})\b",
            NAME_2 = second_name(),
        )),
    ]
}

pub(crate) fn spanish() -> Vec<Regex> {
    let to = r"(?:al|a\s+la|a\s+los|a\s+las|a)\s+";
    let of = r"(?:del|de\s+la|de\s+los|de\s+las|de)\s+";
    let borne = r"(?:serán|será|son|es|correrán|correrá|corren|corre|irán|irá|van|va)\s+(?:de|por|a)\s+(?:cuenta|cargo)";
    let opening_borne = r"(?:Serán|Será|Son|Es|Correrán|Correrá|Corren|Corre|Irán|Irá|Van|Va)\s+(?:de|por|a)\s+(?:cuenta|cargo)";
    vec![
        // "Corresponde al Arrendatario el pago de los suministros", "Queda prohibido al
        // Arrendatario subarrendar".
        compile(&format!(
            r"\b(?P<charge>[Cc]orresponde(?:rá)?|[Ii]ncumbe(?:rá)?|[Qq]ueda\s+prohibido|[Ee]stá\s+prohibido)\s+{to}{NAME}\s*,?\s+{ACTION}"
        )),
        // "Es obligación del Arrendatario conservar la vivienda".
        compile(&format!(
            r"\b(?P<charge>(?:[Ee]s|[Ss]erá|[Ss]on|[Ss]erán)\s+obligaci(?:ón|ones))\s+{of}{NAME}\s*,?:?\s+{ACTION}"
        )),
        // "Serán de cuenta del Arrendatario los gastos de comunidad", the verb opening
        // the sentence.
        compile(&format!(
            r"\b(?P<charge>{opening_borne})\s+{of}{NAME}\s*,?\s+{ACTION}"
        )),
        // "Los gastos de comunidad serán de cuenta del Arrendatario".
        compile(&format!(
            r"{SAID_BEFORE}\s+(?P<charge>{borne})\s+{of}{NAME}\b"
        )),
    ]
}

/// The party a match names: `party`, or `party_2` where one of this module's
/// patterns has two places a party can stand in.
pub(crate) fn party<'t>(caps: &Captures<'t>) -> Option<regex::Match<'t>> {
    caps.name("party").or_else(|| caps.name("party_2"))
}

/// Whether a match of these patterns binds, and if so whether it forbids; `None` when
/// the match is not one of theirs. A right or a choice given to the party ("Corresponde
/// al Arrendador el derecho de ...", "Il appartient au Client de décider") binds no
/// one.
pub(crate) fn judge(caps: &Captures<'_>) -> Option<Option<bool>> {
    let charge = caps.name("charge").or_else(|| caps.name("charge_2"))?;
    let charge = charge.as_str().to_lowercase();
    let action = caps
        .name("action")
        .map_or("", |a| a.as_str())
        .to_lowercase();
    let opening = action
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    const RIGHTS: [&str; 10] = [
        "el derecho",
        "la facultad",
        "la posibilidad",
        "le droit",
        "la faculté",
        "la possibilité",
        "das recht",
        "décider",
        "choisir",
        "elegir",
    ];
    // Not a duty either: a burden of proof or a risk ("La charge de la preuve incombe
    // au Client", "Los riesgos serán de cuenta del Comprador"), and a negation before
    // the formula ("Les frais ne seront à la charge du Preneur que si ...").
    const NOT_DUTIES: [&str; 7] = [
        "preuve",
        "prueba",
        "beweislast",
        "risque",
        "riesgo",
        "risiko",
        "gefahr",
    ];
    let negated_before = [" ne", " n'", " n’", " no", " nicht"]
        .iter()
        .any(|not| action.trim_end().ends_with(not));
    if RIGHTS.iter().any(|right| opening.starts_with(right))
        || NOT_DUTIES.iter().any(|word| action.contains(word))
        || negated_before
    {
        return Some(None);
    }
    let forbids = ["untersagt", "verboten", "interdit", "prohibido"]
        .iter()
        .any(|word| charge.contains(word));
    Some(Some(forbids))
}
