//! The rules for contracts written in French: "prend effet le 1er janvier 2025", "pour
//! une durée de douze (12) mois", "renouvelé par tacite reconduction", "moyennant un
//! préavis de trois mois", "dans un délai de 30 jours à compter de la réception de la
//! facture", "régi par le droit français", "entre A et B".

use super::read::{
    read_date, read_law_adjective, read_law_place, read_payment_days, read_renewal,
    read_renewal_notice, read_term, read_term_of_contract,
};
use super::words::NUMBER;
use super::{between, date_pattern, rule, span, Field, Rule};
use serde_json::json;

const TERM_UNIT: &str = r"(?P<unit>mois|années?|ans?)\b";
const NOTICE_UNIT: &str = r"(?P<unit>jours|semaines|mois)\b";
const ARTICLE: &str = r"(?i:(?:les\s+soussignés\s*:?\s*)?(?:(?:la\s+société|la|le|les|monsieur|madame|m\.|mme|maître)\s+|l['’])?)";

pub(super) fn rules() -> Vec<Rule> {
    let date = date_pattern();
    let mut rules = vec![
        rule(
            Field::EffectiveDate,
            0.9,
            &format!(
                r"(?i)\b(?:date\s+d['’]effet|date\s+d['’]entrée\s+en\s+vigueur|prise\s+d['’]effet)\W{{0,6}}(?:est\s+(?:le\s+|fixée\s+au\s+)?)?(?:le\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.85,
            &format!(
                r"(?i)\b(?:prend|prendra)\s+effet\s+(?:le|à\s+compter\s+du|au|dès\s+le)\s+{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.85,
            &format!(
                r"(?i)\bentre(?:ra)?\s+en\s+vigueur\s+(?:le|à\s+compter\s+du|au|dès\s+le)\s+{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.75,
            &format!(
                r"(?i)\b(?:à\s+compter\s+du|commence(?:ra)?\s+(?:le|à\s+courir\s+le)|débute(?:ra)?\s+le|(?:prend|prendra|prenant)\s+cours\s+le)\s+{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.6,
            &format!(r"(?i)\b(?:fait|conclu|signé)e?\s+(?:à\s+[^,\n]{{1,40}},?\s+)?le\s+{date}"),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.9,
            &format!(
                r"(?i)\bdate\s+(?:d['’]expiration|de\s+fin|d['’]échéance)\W{{0,6}}(?:est\s+(?:le\s+|fixée\s+au\s+)?)?(?:le\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.8,
            &format!(
                r"(?i)\b(?:prend(?:ra)?\s+fin|expire(?:ra)?|se\s+termine(?:ra)?|s['’]achève(?:ra)?)\s+le\s+{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.6,
            &format!(r"(?i)\bjusqu['’]au\s+{date}"),
            read_date,
        ),
        rule(
            Field::TermMonths,
            0.8,
            &format!(
                r"(?i)\bdurée\s+(?:initiale\s+|ferme\s+|déterminée\s+)?(?:de\s+|d['’])\s*{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.7,
            &format!(
                r"(?i)\b(?:conclu|consenti|valable)e?s?\s+pour\s+(?:une\s+période\s+de\s+)?{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term,
        ),
        rule(
            Field::AutoRenew,
            0.85,
            r"(?i)\bne\s+(?:sera|se)\s+(?:pas\s+)?(?:renouvel|reconduit|reconduir)\w*\s+(?:pas\s+)?(?:automatiquement|tacitement)|\bsans\s+tacite\s+reconduction|\b(?:pas\s+de|aucune)\s+tacite\s+reconduction|\bn['’]est\s+pas\s+(?:renouvelable|reconductible)",
            |_, _| Some((json!(false), 1.0)),
        ),
        rule(
            Field::AutoRenew,
            0.8,
            r"(?i)tacite\s+reconduction|tacitement\s+(?:reconduit|renouvel)|(?:renouvel|reconduit)\w*\s+(?:automatiquement|tacitement|de\s+plein\s+droit)",
            read_renewal,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)\bpréavis\s+(?:écrit\s+)?(?:d['’]au\s+moins\s+|minimum\s+de\s+|de\s+)(?:au\s+moins\s+)?{NUMBER}\s+{NOTICE_UNIT}"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.75,
            &format!(r"(?i)\b(?:au\s+moins|au\s+plus\s+tard)\s+{NUMBER}\s+{NOTICE_UNIT}\s+avant"),
            read_renewal_notice,
        ),
        rule(
            Field::PaymentTermsDays,
            0.85,
            &format!(
                r"(?i)\b(?:dans\s+un\s+délai\s+de|dans\s+les|sous)\s+{NUMBER}\s+jours\s+(?:calendaires\s+|ouvrés\s+|nets\s+)?(?:à\s+compter\s+de|suivant|après|de)\s+(?:la\s+)?(?:date\s+d['’]|date\s+de\s+)?(?:(?:réception|émission)\s+de\s+)?(?:la\s+)?facture"
            ),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.8,
            &format!(r"(?i)\bà\s+{NUMBER}\s+jours\s+(?:date\s+de\s+facture|nets?)\b"),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.65,
            &format!(r"(?i)\b(?:dans\s+un\s+délai\s+de|dans\s+les|sous)\s+{NUMBER}\s+jours\b"),
            read_payment_days,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i)\bdroit\s+(?P<adj>français|française|francais|belge|suisse|luxembourgeois|allemand|anglais|québécois|quebecois|canadien|espagnol|italien|néerlandais|monégasque)\b",
            read_law_adjective,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i:\blois?\s+(?:en\s+vigueur\s+)?(?:de\s+la\s+|du\s+|de\s+l['’]|de\s+))(?P<place>(?:(?i:Province|République|Royaume|Principauté|Grand-Duché|Canton)\s+(?:de\s+|du\s+)?)?\p{Lu}[\p{L}-]+)",
            read_law_place,
        ),
    ];
    rules.extend(span(0.75, r"(?i)\bdu\s+{date}\s+au\s+{end}"));
    rules.push(between("entre", "et", ARTICLE, "«»“”"));
    rules
}
