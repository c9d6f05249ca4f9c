//! The parties a contract names by their role: role lines ("Landlord: Ruth Okonkwo")
//! and defined terms ("Harbourside Estates Limited (the \"Landlord\")"), the forms
//! order forms, letters and European drafting use where no "between A and B" sentence
//! is written.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::json;

use super::{sentence_around, Field, Found};

/// The roles a party is given; a defined term of another kind ("the Premises") or a
/// role of someone who does not sign (the borrower a guarantee is for) is not asked.
const ROLES: &str = "Landlord|Tenant|Lessor|Lessee|Licensor|Licensee|Provider|Customer|Client|Supplier|Vendor|Buyer|Seller|Purchaser|Lender|Borrower|Guarantor|Company|Contractor|Subcontractor|Consultant|Employer|Employee|Owners?|Hirer|Manager|Agency|Agent|Distributor|Reseller|Franchisor|Franchisee|Controller|Processor|Sponsor|Caterer|Gallery|Artist|Photographer|Translator|Carrier|Shipper|Warehouse|Depositor|Hotel|Institution|University|Producer|Author|Assignor|Assignee|Advisor|Adviser|Principal|Recipient|Discloser|Charterers|Grower|Cooperative|Escrow Agent|Member";

/// The same roles in German, French and Spanish, as role lines name them
/// ("Vermieter: ...", "Bailleur : ...", "Arrendador: ...").
const OTHER_ROLES: &str = "Vermieter(?:in)?|Mieter(?:in)?|Verpächter(?:in)?|Pächter(?:in)?|Auftraggeber(?:in)?|Auftragnehmer(?:in)?|Verkäufer(?:in)?|Käufer(?:in)?|Lieferant(?:in)?|Lizenzgeber(?:in)?|Lizenznehmer(?:in)?|Arbeitgeber(?:in)?|Arbeitnehmer(?:in)?|Darlehensgeber(?:in)?|Darlehensnehmer(?:in)?|Berater(?:in)?|Kunde|Kundin|Bailleur|Bailleresse|Preneur|Locataire|Prestataire|Client|Cliente|Vendeur|Acheteur|Fournisseur|Concédant|Licencié|Employeur|Salarié|Prêteur|Emprunteur|Mandant|Mandataire|Arrendador(?:a)?|Arrendatario|Arrendataria|Proveedor(?:a)?|Vendedor(?:a)?|Comprador(?:a)?|Prestador(?:a)?|Licenciante|Licenciatario|Empleador(?:a)?|Trabajador(?:a)?|Prestamista|Prestatario|Mutuante|Mutuario";

static ROLE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?m)^[ \t]*(?:\(\d+\)[ \t]*)?(?:{ROLES}|{OTHER_ROLES})[ \t]*:[ \t]*(?P<name>\p{{Lu}}[^\n,(;]{{1,80}})"
    ))
    .expect("the role line pattern is valid")
});

static DEFINED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?P<name>\p{{Lu}}[\w&'’.-]*(?:,?[ ]+(?:&[ ]+|de[ ]+|of[ ]+|and[ ]+)?[\p{{Lu}}\d][\w&'’.-]*){{0,6}})(?:[ ]*\([^()\n]{{1,60}}\))?[ ]*,?[ ]*\((?:hereinafter[ ]+(?:called[ ]+|referred[ ]+to[ ]+as[ ]+)?)?(?:the[ ]+)?["“](?:the[ ]+)?(?:{ROLES}|we|us|you)["”]"#
    ))
    .expect("the defined party pattern is valid")
});

/// Words a defined name begins with that make it no name.
const NOT_NAMES: [&str; 4] = ["This", "The Parties", "Each", "In "];
/// Words before a name that are not part of it ("Between Larchmont Advisory LLC").
const BEFORE_NAMES: [&str; 4] = ["Between ", "And ", "By ", "Among "];

/// The parties named by role, in the order they are first named, when at least two are.
pub(super) fn by_roles(text: &str) -> Option<Found> {
    let mut named: Vec<(usize, usize, String)> = ROLE_LINE
        .captures_iter(text)
        .chain(DEFINED.captures_iter(text))
        .take(super::MAX_MATCHES)
        .filter_map(|caps| {
            let name = caps.name("name")?;
            let clean = name
                .as_str()
                .trim()
                .trim_end_matches([',', '.', ' '])
                .trim();
            let clean = BEFORE_NAMES
                .iter()
                .find_map(|w| clean.strip_prefix(w))
                .unwrap_or(clean);
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
