//! The rules for contracts written in German: "Vertragsbeginn: 01.01.2025", "tritt am
//! … in Kraft" (with its date), "Laufzeit von 24 Monaten", "verlängert sich
//! automatisch", "mit einer Frist von drei Monaten", "zahlbar innerhalb von 30 Tagen
//! nach Rechnungseingang", "unterliegt deutschem Recht", "zwischen A und B".

use super::read::{
    read_date, read_law_adjective, read_law_place, read_payment_days, read_renewal,
    read_renewal_notice, read_term, read_term_of_contract,
};
use super::words::NUMBER;
use super::{between, date_pattern, rule, span, Field, Rule};
use serde_json::json;

const TERM_UNIT: &str = r"(?P<unit>Monat\w*|Jahr\w*)";
const NOTICE_UNIT: &str = r"(?P<unit>Monat\w*|Woche\w*|Tag\w*)";
const ARTICLE: &str = r"(?:(?:der|die|dem|den|das|Herrn?|Frau)\s+)?";

pub(super) fn rules() -> Vec<Rule> {
    let date = date_pattern();
    let mut rules = vec![
        rule(
            Field::EffectiveDate,
            0.9,
            &format!(
                r"(?i)\b(?:Vertragsbeginn|Beginn\s+des\s+Vertrag(?:e|)s|Inkrafttreten|Wirksamkeitsdatum|Beginn\s+der\s+Laufzeit)\W{{0,6}}(?:ist\s+(?:der\s+)?)?(?:am\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.85,
            &format!(
                r"(?i)\b(?:tritt|treten)\s+(?:am|mit\s+Wirkung\s+(?:zum|vom|ab))\s+(?:dem\s+)?{date}\s+in\s+Kraft"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.8,
            &format!(r"(?i)\bmit\s+Wirkung\s+(?:zum|vom|ab)\s+(?:dem\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.75,
            &format!(r"(?i)\b(?:beginnt|gilt|läuft)\s+(?:am|ab|mit\s+dem|vom)\s+(?:dem\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.6,
            &format!(r"(?i)\b(?:geschlossen|abgeschlossen|unterzeichnet)\s+am\s+{date}"),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.9,
            &format!(
                r"(?i)\b(?:Vertragsende|Ende\s+der\s+Laufzeit|Ablaufdatum|Laufzeitende)\W{{0,6}}(?:ist\s+(?:der\s+)?)?(?:am\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.8,
            &format!(r"(?i)\b(?:endet|enden)\s+(?:am|mit\s+Ablauf\s+des)\s+{date}"),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.8,
            &format!(r"(?i)\bläuft\s+am\s+{date}\s+ab\b"),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.6,
            &format!(r"(?i)\bbis\s+(?:zum|einschließlich)\s+{date}"),
            read_date,
        ),
        rule(
            Field::TermMonths,
            0.8,
            &format!(
                r"(?i)\bLaufzeit\s+(?:des\s+Vertrag(?:e|)s\s+)?(?:von|beträgt)\s+{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term,
        ),
        rule(
            Field::TermMonths,
            0.7,
            &format!(
                r"(?i)\b(?:für|auf)\s+(?:die\s+Dauer\s+von\s+|einen\s+Zeitraum\s+von\s+)?{NUMBER}\s+{TERM_UNIT}\s+(?:fest\s+)?(?:geschlossen|abgeschlossen|befristet)"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.7,
            &format!(r"(?i)\b(?:für|auf)\s+die\s+Dauer\s+von\s+{NUMBER}\s+{TERM_UNIT}"),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.7,
            // "Der Vertrag beginnt am ... und läuft 24 Monate."
            &format!(
                r"(?i)\b(?:Vertrag|Vertragsverhältnis|Mietverhältnis)\b(?:[^.;\n]|\.\s?\d|\.\s\p{{Lu}}\p{{Ll}}+\s\d){{0,80}}?\bläuft\s+(?:über\s+)?{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.7,
            // "Der Vertrag beginnt am ... und endet nach 36 Monaten."
            &format!(
                r"(?i)\b(?:Vertrag|Vertragsverhältnis|Mietverhältnis)\b(?:[^.;\n]|\.\s?\d|\.\s\p{{Lu}}\p{{Ll}}+\s\d){{0,80}}?\bendet\s+nach\s+(?:Ablauf\s+von\s+)?{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::AutoRenew,
            0.85,
            r"(?i)verlängert\s+sich\s+nicht|keine\s+(?:automatische|stillschweigende)\s+Verlängerung|endet,?\s+ohne\s+dass\s+es\s+einer\s+Kündigung\s+bedarf",
            |_, _| Some((json!(false), 1.0)),
        ),
        rule(
            Field::AutoRenew,
            0.8,
            r"(?i)verlängert\s+sich\b[^.;]{0,80}?(?:automatisch|stillschweigend|jeweils|um\s+(?:je\s+)?(?:ein|eine|weitere))|stillschweigend\s+verlängert|automatische\s+Verlängerung",
            read_renewal,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)\b(?:Frist|Kündigungsfrist)\s+von\s+(?:mindestens\s+)?{NUMBER}\s+{NOTICE_UNIT}"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.75,
            &format!(
                r"(?i)\b(?:spätestens|mindestens)\s+{NUMBER}\s+{NOTICE_UNIT}\s+vor\s+(?:Ablauf|Ende)"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::PaymentTermsDays,
            0.85,
            &format!(
                r"(?i)\b(?:innerhalb\s+(?:von\s+)?|binnen\s+){NUMBER}\s+(?:Kalender|Werk|Bank)?tag\w*\s+(?:nach|ab)\s+(?:dem\s+|der\s+)?(?:Rechnungs\w*|(?:Erhalt|Zugang|Eingang)\s+der\s+(?:jeweiligen\s+)?Rechnung)"
            ),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.8,
            &format!(r"(?i)\bZahlungsziel\W{{0,6}}(?:von\s+|beträgt\s+)?{NUMBER}\s+Tag\w*"),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.65,
            &format!(r"(?i)\binnerhalb\s+(?:von\s+)?{NUMBER}\s+(?:Kalender|Werk|Bank)?tag\w*"),
            read_payment_days,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i)\b(?P<adj>deutsch|österreichisch|schweizer|schweizerisch|französisch|englisch|niederländisch|luxemburgisch|italienisch|spanisch|belgisch|polnisch)\w*\s+Recht",
            read_law_adjective,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            // "Recht des Käufers" is a right, not a law: only places are read.
            r"(?i:\bRecht\s+(?:der|des)\s+)(?P<place>Bundesrepublik\s+Deutschland|Republik\s+Österreich|Schweiz|Schweizerischen\s+Eidgenossenschaft|Fürstentums\s+Liechtenstein|Großherzogtums\s+Luxemburg|Niederlande|Vereinigten\s+Königreichs|Staates\s+\p{Lu}\p{L}+(?:\s+\p{Lu}\p{L}+)?)",
            read_law_place,
        ),
    ];
    rules.extend(span(0.75, r"(?i)\bvom\s+{date}\s+bis\s+(?:zum\s+)?{end}"));
    rules.push(between("zwischen", "und", ARTICLE, "„“”"));
    rules
}
