//! The rules for contracts written in Spanish: "entrará en vigor el 1 de enero de
//! 2025", "por un plazo de doce (12) meses", "se prorrogará tácitamente", "con una
//! antelación mínima de dos meses", "en un plazo de 30 días desde la recepción de la
//! factura", "se regirá por la legislación española", "entre A y B".

use super::read::{
    read_date, read_law_adjective, read_law_place, read_parties, read_payment_days, read_renewal,
    read_renewal_notice, read_term_of_contract,
};
use super::words::NUMBER;
use super::{between, date_pattern, rule, span, Field, Rule};
use serde_json::json;

const TERM_UNIT: &str = r"(?P<unit>meses|mes|años?)\b";
const NOTICE_UNIT: &str = r"(?P<unit>días|dias|semanas|meses|mes)\b";
const ARTICLE: &str =
    r"(?:(?:la\s+(?:sociedad|empresa|mercantil|entidad)|el|la|los|D\.|Dña\.|don|doña)\s+)?";
const DAY: &str = r"(?:el\s+)?(?:día\s+)?";

pub(super) fn rules() -> Vec<Rule> {
    let date = date_pattern();
    let mut rules = vec![
        rule(
            Field::EffectiveDate,
            0.9,
            &format!(
                r"(?i)\bfecha\s+de\s+(?:entrada\s+en\s+vigor|inicio|efectividad|efecto)\W{{0,6}}(?:es\s+|será\s+)?{DAY}{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.85,
            &format!(
                r"(?i)\b(?:entrará|entra)\s+en\s+vigor\s+(?:el|a\s+partir\s+del|desde\s+el)\s+(?:día\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.8,
            &format!(
                r"(?i)\b(?:surtirá|surte|tendrá)\s+efectos?\s+(?:el|a\s+partir\s+del|desde\s+el)\s+(?:día\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.75,
            &format!(
                r"(?i)\b(?:a\s+partir\s+del|con\s+efectos?\s+(?:desde\s+el|a\s+partir\s+del|del)|(?:comenzará|comienza|empezará|empieza|se\s+inicia|se\s+iniciará)\s+(?:el|a\s+regir\s+el))\s+(?:día\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.6,
            &format!(
                r"(?i)\b(?:firmado|suscrito|celebrado|otorgado)\s+(?:en\s+[^,\n]{{1,40}},?\s+)?(?:el|a)\s+(?:día\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.6,
            &format!(r"(?m)^[ \t]*En\s+\p{{Lu}}[\p{{L}} ]{{1,30}},\s+a\s+{date}"),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.9,
            &format!(
                r"(?i)\bfecha\s+de\s+(?:vencimiento|terminación|finalización|expiración)\W{{0,6}}(?:es\s+|será\s+)?{DAY}{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.8,
            &format!(
                r"(?i)\b(?:vencerá|finalizará|terminará|expirará|vence|finaliza|termina|expira)\s+el\s+(?:día\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.6,
            &format!(r"(?i)\bhasta\s+{DAY}{date}"),
            read_date,
        ),
        rule(
            Field::TermMonths,
            0.8,
            &format!(
                r"(?i)\b(?:plazo|duración|vigencia)\s+(?:inicial\s+)?(?:del\s+(?:presente\s+)?contrato\s+)?(?:será\s+|es\s+)?de\s+{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.7,
            &format!(
                r"(?i)\bpor\s+(?:un\s+(?:plazo|período|periodo)\s+de\s+)?{NUMBER}\s+{TERM_UNIT}"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::AutoRenew,
            0.85,
            r"(?i)\bno\s+se\s+(?:prorrogará|renovará|prorroga|renueva)\w*\s+(?:automática|tácita)mente|\bsin\s+(?:prórroga|renovación)\s+(?:automática|tácita)|\bno\s+(?:habrá|cabrá)\s+(?:prórroga|renovación)\s+(?:automática|tácita)",
            |_, _| Some((json!(false), 1.0)),
        ),
        rule(
            Field::AutoRenew,
            0.8,
            r"(?i)(?:prorrogará|renovará|prorroga|renueva)\w*\s+(?:automática|tácita)mente|(?:prórroga|renovación)\s+(?:automática|tácita)|tácitamente\s+(?:prorrogad|renovad)\w*",
            read_renewal,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)\b(?:preaviso|antelación)\s+(?:mínim[ao]\s+)?(?:(?:por\s+)?escrito\s+)?de\s+(?:al\s+menos\s+)?{NUMBER}\s+{NOTICE_UNIT}"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.75,
            &format!(
                r"(?i)\bcon\s+(?:al\s+menos\s+|un\s+mínimo\s+de\s+)?{NUMBER}\s+{NOTICE_UNIT}\s+de\s+(?:antelación|preaviso)"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::PaymentTermsDays,
            0.85,
            &format!(
                r"(?i)\b(?:en\s+un\s+plazo\s+(?:máximo\s+)?de|dentro\s+de\s+los)\s+{NUMBER}\s+días\s+(?:naturales\s+|hábiles\s+)?(?:siguientes\s+a|desde|a\s+partir\s+de|contados\s+(?:desde|a\s+partir\s+de))\s+(?:la\s+)?(?:fecha\s+de\s+)?(?:(?:recepción|emisión)\s+de\s+)?(?:la\s+)?(?:correspondiente\s+)?factura"
            ),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.8,
            &format!(r"(?i)\ba\s+{NUMBER}\s+días\s+(?:fecha\s+(?:de\s+)?factura)"),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.65,
            &format!(
                r"(?i)\b(?:en\s+un\s+plazo\s+(?:máximo\s+)?de|dentro\s+de\s+los)\s+{NUMBER}\s+días\b"
            ),
            read_payment_days,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i)\b(?:legislación|ley(?:es)?|derecho)\s+(?:común\s+)?(?P<adj>español\w*|espanol\w*|mexican\w*|argentin\w*|chilen\w*|colombian\w*|peruan\w*|uruguay\w*|francés|francesa|alemán|alemana|inglés|inglesa|portugu\w*)",
            read_law_adjective,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i:\b(?:legislación|leyes|derecho)\s+(?:vigente\s+)?(?:de\s+la\s+|del\s+|de\s+los\s+|de\s+))(?P<place>(?:(?i:Reino|República|Estado|Estados\s+Unidos)\s+(?:de\s+)?)?\p{Lu}\p{L}+(?:\s+\p{Lu}\p{L}+)?)",
            read_law_place,
        ),
        rule(
            Field::Parties,
            0.8,
            &format!(
                r"(?i:\b(?:de|por)\s+una\s+parte),?\s+{ARTICLE}(?P<a>\p{{Lu}}[^,()\n«»“”]{{1,80}}?)\s*(?:,|\()(?s:.){{0,400}}?(?i:\b(?:de|por)\s+(?:otra|la\s+otra)(?:\s+parte)?),?\s+{ARTICLE}(?P<b>\p{{Lu}}[^,()\n«»“”]{{1,80}}?)\s*(?:,|\(|\.\s+\p{{Lu}}|\.$|\n|$)"
            ),
            read_parties,
        ),
    ];
    rules.extend(span(0.75, r"(?i)\b(?:desde|del)\s+(?:el\s+)?(?:día\s+)?{date}\s+(?:hasta|al)\s+(?:el\s+)?(?:día\s+)?{end}"));
    rules.push(between("entre", "y", ARTICLE, "«»“”"));
    rules
}
