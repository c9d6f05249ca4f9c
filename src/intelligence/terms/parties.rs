//! The parties a contract names by their role or short name: role lines ("Landlord:
//! Ruth Okonkwo") and defined terms ("Harbourside Estates Limited (the \"Landlord\")",
//! "Orion Precision Engineering Ltd (\"Orion\")"), the forms order forms, letters and
//! European drafting use where no "between A and B" sentence is written.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::json;

use super::{sentence_around, Field, Found};

/// The roles a party is given; a defined term of another kind ("the Premises") or a
/// role of someone who does not sign (the borrower a guarantee is for) is not asked.
const ROLES: &str = "Landlord|Tenant|Lessor|Lessee|Licensor|Licensee|Provider|Service Provider|Customer|Client|Supplier|Vendor|Buyer|Seller|Purchaser|Lender|Borrower|Guarantor|Company|Contractor|Subcontractor|Consultant|Employer|Employee|Owners?|Hirer|Manager|Agency|Agent|Distributor|Reseller|Franchisor|Franchisee|Controller|Processor|Sponsor|Caterer|Gallery|Artist|Photographer|Translator|Carrier|Shipper|Warehouse|Depositor|Hotel|Institution|University|Producer|Author|Assignor|Assignee|Advisor|Adviser|Principal|Recipient|Discloser|Charterers|Grower|Cooperative|Escrow Agent|Member|Club|County|City|Council|Municipality|Partner|Investor|Publisher|Developer|Organi[sz]er|Trustee|Insurer|Operator";

/// The same roles in German, French and Spanish, as role lines name them
/// ("Vermieter: ...", "Bailleur : ...", "Arrendador: ...").
const OTHER_ROLES: &str = "Vermieter(?:in)?|Mieter(?:in)?|Verpächter(?:in)?|Pächter(?:in)?|Auftraggeber(?:in)?|Auftragnehmer(?:in)?|Verkäufer(?:in)?|Käufer(?:in)?|Lieferant(?:in)?|Lizenzgeber(?:in)?|Lizenznehmer(?:in)?|Arbeitgeber(?:in)?|Arbeitnehmer(?:in)?|Darlehensgeber(?:in)?|Darlehensnehmer(?:in)?|Berater(?:in)?|Kunde|Kundin|Bailleur|Bailleresse|Preneur|Locataire|Prestataire|Client|Cliente|Vendeur|Acheteur|Fournisseur|Concédant|Licencié|Employeur|Salarié|Prêteur|Emprunteur|Mandant|Mandataire|Arrendador(?:a)?|Arrendatario|Arrendataria|Proveedor(?:a)?|Vendedor(?:a)?|Comprador(?:a)?|Prestador(?:a)?|Licenciante|Licenciatario|Empleador(?:a)?|Trabajador(?:a)?|Prestamista|Prestatario|Mutuante|Mutuario";

static ROLE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?m)^[ \t]*(?:\(\d+\)[ \t]*)?(?:{ROLES}|{OTHER_ROLES})[ \t]*:[ \t]*(?P<name>\p{{Lu}}[^\n,(;]{{1,80}})"
    ))
    .expect("the role line pattern is valid")
});

/// A name, then what may stand between it and its defined term: descriptions after a
/// comma (", a Delaware corporation", ", sole trader, Lyon") or a seat ("with its
/// registered seat in Kraków"); then the term in brackets, quoted or not ("(the
/// \"Landlord\")", "(hereinafter called \"the Buyer\")", "(the Translator)"), or after
/// "hereinafter" without them. Which terms name a party is [`names_a_party`]'s call.
static DEFINED: LazyLock<Regex> = LazyLock::new(|| {
    let name = r"\p{Lu}[\w&'’.-]*(?:,?[ ]+(?:&[ ]+|de[ ]+|of[ ]+|and[ ]+)?[\p{Lu}\d][\w&'’.-]*){0,6}(?:[ ]+(?:plc|z[ ]+o\.o\.|s\.r\.o\.|a\.s\.|e\.V\.|e\.K\.))?";
    let described = r#"(?:(?:,[ ]+\p{Ll}[^,()\n"“”]{0,60}){0,2}(?:,[ ]+\p{Lu}[\w'’-]*(?:[ ]+\p{Lu}[\w'’-]*)?)?|[ ]+(?:with|having|whose)[ ]+[^,()\n"“”]{1,80})?"#;
    let term = |group: &str| {
        format!(r"(?P<{group}>\p{{Lu}}[\w&'’-]*(?:[ ]+\p{{Lu}}[\w&'’-]*){{0,2}}|we|us|you)")
    };
    let hereinafter = r"hereinafter[ ]+(?:called[ ]+|referred[ ]+to[ ]+as[ ]+)?";
    let (quoted, bare, after) = (term("quoted"), term("bare"), term("after"));
    Regex::new(&format!(
        r#"(?P<name>{name}){described}(?:[ ]*\([^()\n]{{1,60}}\))?[ ]*,?[ ]*(?:\((?:{hereinafter})?(?:the[ ]+)?(?:["“](?:the[ ]+)?{quoted}["”]|{bare}\))|{hereinafter}["“](?:the[ ]+)?{after}["”])"#
    ))
    .expect("the defined party pattern is valid")
});

static ROLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^(?:{ROLES})$")).expect("the role pattern is valid"));

/// Whether `term`, defined for `name`, says `name` is a party: a role ("the Club"),
/// "we", "us" or "you", or, quoted, the name's short form: its first word ("Orion
/// Precision Engineering Ltd (\"Orion\")") or its initials ("(\"IWM\")"). Unquoted,
/// only a role: "(the Premises)" describes a thing.
fn names_a_party(term: &str, name: &str, quoted: bool) -> bool {
    if ROLE.is_match(term) || (quoted && matches!(term, "we" | "us" | "you")) {
        return true;
    }
    if !quoted {
        return false;
    }
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| w.starts_with(char::is_uppercase))
        .collect();
    let initials: String = words.iter().filter_map(|w| w.chars().next()).collect();
    words.len() >= 2
        && !NOT_SHORT_NAMES.contains(&term)
        && (words[0] == term || abbreviates(term, &initials))
}

/// Whether `term` is the initials of a name, its legal form ("Inc", "Ltd") given or not.
fn abbreviates(term: &str, initials: &str) -> bool {
    term.len() >= 2
        && term.chars().all(char::is_uppercase)
        && initials.starts_with(term)
        && term.len() + 1 >= initials.len()
}

/// First words of a name that are no short form of it when defined ("Master Services
/// Agreement (\"Master\")" would be a document).
const NOT_SHORT_NAMES: [&str; 6] = ["The", "This", "Master", "Services", "Software", "License"];

/// Words a defined name begins with that make it no name.
const NOT_NAMES: [&str; 4] = ["This", "The Parties", "Each", "In "];
/// Words before a name that are not part of it ("Between Larchmont Advisory LLC").
const BEFORE_NAMES: [&str; 4] = ["Between ", "And ", "By ", "Among "];

/// `name` without a word before it that is not part of it.
fn without_opening(name: &str) -> &str {
    BEFORE_NAMES
        .iter()
        .find_map(|w| name.strip_prefix(w))
        .unwrap_or(name)
}

/// The parties named by role, in the order they are first named, when at least two are.
pub(super) fn by_roles(text: &str) -> Option<Found> {
    let mut named: Vec<(usize, usize, String)> = ROLE_LINE
        .captures_iter(text)
        .chain(DEFINED.captures_iter(text).filter(|caps| {
            let (term, quoted) = match caps.name("bare") {
                Some(bare) => (bare, false),
                None => match caps.name("quoted").or_else(|| caps.name("after")) {
                    Some(term) => (term, true),
                    None => return false,
                },
            };
            names_a_party(term.as_str(), without_opening(&caps["name"]), quoted)
        }))
        .take(super::MAX_MATCHES)
        .filter_map(|caps| {
            let name = caps.name("name")?;
            let clean = name
                .as_str()
                .trim()
                .trim_end_matches([',', '.', ' '])
                .trim();
            let clean = without_opening(clean);
            let words = clean.split_whitespace().count();
            let no_name = NOT_NAMES.iter().any(|w| clean.starts_with(w));
            (!no_name && (1..=8).contains(&words))
                .then(|| (name.start(), name.end(), clean.to_owned()))
        })
        .collect();
    named.sort_by_key(|(start, _, _)| *start);
    let mut parties: Vec<String> = Vec::new();
    for (_, _, name) in &named {
        let lower = name.to_lowercase();
        let known = parties.iter().any(|p| {
            let p = p.to_lowercase();
            p.contains(&lower) || lower.contains(&p)
        });
        if !known && parties.len() < 4 {
            parties.push(name.clone());
        }
    }
    if parties.len() < 2 {
        return None;
    }
    let (first_start, first_end, _) = named[0];
    let (start, end) = sentence_around(text, first_start, first_end);
    Some(Found {
        field: Field::Parties,
        value: json!(parties),
        passage: text[start..end].trim().to_owned(),
        start: text[..start].chars().count(),
        end: text[..start].chars().count() + text[start..end].chars().count(),
        confidence: 0.7,
    })
}
