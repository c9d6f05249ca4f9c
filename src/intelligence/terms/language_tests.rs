//! The terms of contracts written in German, French and Spanish, and the readers the
//! three languages share: numbers in words, month names, notice periods in weeks and
//! months, amounts written the continental way.

use super::amount::normal_amount;
use super::*;
use chrono::NaiveDate;

fn values(text: &str) -> Vec<(Field, Value)> {
    extract(text)
        .into_iter()
        .map(|f| (f.field, f.value))
        .collect()
}

fn value(found: &[(Field, Value)], field: Field) -> Option<&Value> {
    found.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
}

#[test]
fn a_german_contract_yields_its_terms() {
    let found = values(
        "DIENSTLEISTUNGSVERTRAG\n\nzwischen der Rhein Logistik GmbH, Köln, und der \
         Kaiser Handel AG, Mainz.\n\n§ 1 Der Vertrag tritt am 1. März 2025 in Kraft.\n\
         § 2 Die Laufzeit beträgt zwei Jahre. Der Vertrag verlängert sich automatisch um \
         jeweils ein Jahr, wenn er nicht mit einer Frist von sechs Wochen zum Ende der \
         Laufzeit gekündigt wird.\n§ 3 Die Vergütung beträgt insgesamt 120.000 EUR. \
         Rechnungen sind innerhalb von 14 Tagen nach Rechnungseingang zahlbar.\n\
         § 4 Dieser Vertrag unterliegt deutschem Recht.",
    );
    assert_eq!(
        value(&found, Field::Parties),
        Some(&json!(["Rhein Logistik GmbH", "Kaiser Handel AG"]))
    );
    assert_eq!(
        value(&found, Field::EffectiveDate),
        Some(&json!("2025-03-01"))
    );
    assert_eq!(value(&found, Field::TermMonths), Some(&json!(24)));
    assert_eq!(value(&found, Field::AutoRenew), Some(&json!(true)));
    assert_eq!(value(&found, Field::RenewalNoticeDays), Some(&json!(42)));
    assert_eq!(
        value(&found, Field::Value),
        Some(&json!({"amount": "120000.00", "currency": "EUR"}))
    );
    assert_eq!(value(&found, Field::PaymentTermsDays), Some(&json!(14)));
    assert_eq!(value(&found, Field::GoverningLaw), Some(&json!("Germany")));
}

#[test]
fn a_french_contract_yields_its_terms() {
    let found = values(
        "CONTRAT DE SERVICES\n\nEntre la société Alpha Conseil SAS, Paris, et la société \
         Beta Industrie SA, Lyon.\n\nArticle 1. Le contrat prend effet le 1er février 2025 \
         pour une durée de trente-six (36) mois. Il est renouvelé par tacite reconduction, \
         sauf préavis de deux mois avant l'échéance.\nArticle 2. Le prix total s'élève à \
         1 250 000,50 €. Les factures sont payables dans un délai de 45 jours à compter de \
         la réception de la facture.\nArticle 3. Le présent contrat est régi par le droit \
         français.",
    );
    assert_eq!(
        value(&found, Field::Parties),
        Some(&json!(["Alpha Conseil SAS", "Beta Industrie SA"]))
    );
    assert_eq!(
        value(&found, Field::EffectiveDate),
        Some(&json!("2025-02-01"))
    );
    assert_eq!(value(&found, Field::TermMonths), Some(&json!(36)));
    assert_eq!(value(&found, Field::AutoRenew), Some(&json!(true)));
    assert_eq!(value(&found, Field::RenewalNoticeDays), Some(&json!(62)));
    assert_eq!(
        value(&found, Field::Value),
        Some(&json!({"amount": "1250000.50", "currency": "EUR"}))
    );
    assert_eq!(value(&found, Field::PaymentTermsDays), Some(&json!(45)));
    assert_eq!(value(&found, Field::GoverningLaw), Some(&json!("France")));
}

#[test]
fn a_spanish_contract_yields_its_terms() {
    let found = values(
        "CONTRATO DE SERVICIOS\n\nDe una parte, Sur Digital S.L., con domicilio en Sevilla.\n\
         De otra parte, Norte Foods S.A., con domicilio en Bilbao.\n\n\
         Primera. El contrato estará vigente desde el 1 de julio de 2025 hasta el 30 de junio \
         de 2026, sin prórroga automática.\nSegunda. El importe total asciende a 48.000,00 \
         euros. Las facturas se pagarán en un plazo de treinta y cinco días desde la \
         recepción de la factura.\nTercera. Este contrato se regirá por las leyes del Reino \
         de España.",
    );
    assert_eq!(
        value(&found, Field::Parties),
        Some(&json!(["Sur Digital S.L.", "Norte Foods S.A."]))
    );
    assert_eq!(
        value(&found, Field::EffectiveDate),
        Some(&json!("2025-07-01"))
    );
    assert_eq!(value(&found, Field::EndDate), Some(&json!("2026-06-30")));
    assert_eq!(
        value(&found, Field::AutoRenew),
        Some(&json!(false)),
        "\"sin prórroga automática\" says it does not renew"
    );
    assert_eq!(
        value(&found, Field::Value),
        Some(&json!({"amount": "48000.00", "currency": "EUR"}))
    );
    assert_eq!(value(&found, Field::PaymentTermsDays), Some(&json!(35)));
    assert_eq!(value(&found, Field::GoverningLaw), Some(&json!("Spain")));
}

#[test]
fn a_renewal_denied_in_each_language_is_not_auto_renewal() {
    for text in [
        "Der Vertrag verlängert sich nicht automatisch.",
        "Il ne sera pas renouvelé tacitement.",
        "Le contrat est conclu sans tacite reconduction.",
        "El contrato no se renovará automáticamente.",
    ] {
        assert_eq!(
            value(&values(text), Field::AutoRenew),
            Some(&json!(false)),
            "{text}"
        );
    }
}

#[test]
fn a_law_named_in_passing_is_not_the_governing_law() {
    // A company's form under a law is not the contract's choice of law.
    let found = values(
        "Le prêt est consenti par Holding SA, société de droit luxembourgeois, à son \
         associé.",
    );
    assert_eq!(value(&found, Field::GoverningLaw), None);
    // "Recht des Käufers" is the buyer's right, not a law, even where something "gilt".
    let found = values("Es gilt das Recht des Käufers auf Nachbesserung.");
    assert_eq!(value(&found, Field::GoverningLaw), None);
}

#[test]
fn numbers_in_words_of_each_language() {
    for (words, number) in [
        ("drei", 3),
        ("zwölf", 12),
        ("vierundzwanzig", 24),
        ("einem", 1),
        ("trente et un", 31),
        ("vingt-quatre", 24),
        ("quatre-vingt-dix", 90),
        ("soixante-quinze", 75),
        ("treinta y seis", 36),
        ("veinticuatro", 24),
        ("dos", 2),
    ] {
        assert_eq!(word_number(words), Some(number), "{words}");
    }
    assert_eq!(word_number("Monate"), None);
}

#[test]
fn dates_with_month_names_of_each_language() {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    assert_eq!(parse_date("1. März 2025"), date(2025, 3, 1));
    assert_eq!(parse_date("15. Jänner 2026"), date(2026, 1, 15));
    assert_eq!(parse_date("1er août 2025"), date(2025, 8, 1));
    assert_eq!(parse_date("31 décembre 2027"), date(2027, 12, 31));
    assert_eq!(parse_date("1 de enero de 2025"), date(2025, 1, 1));
    assert_eq!(parse_date("1° de septiembre de 2025"), date(2025, 9, 1));
}

#[test]
fn dates_in_digits_are_day_first_outside_english() {
    // Priced in dollars, but written in Spanish: 01/05 is the first of May.
    let spanish = "El valor total es de USD 10.000. Fecha de inicio: 01/05/2025.";
    assert!(!us_usage(spanish));
    assert_eq!(
        value(&values(spanish), Field::EffectiveDate),
        Some(&json!("2025-05-01"))
    );
    assert!(us_usage(
        "The total is USD 10,000 and the agreement starts on 01/05/2025."
    ));
}

#[test]
fn a_notice_in_weeks_or_months_is_counted_in_days_never_short() {
    for (text, days) in [
        (
            "This Agreement renews automatically unless either party gives three months' notice.",
            92,
        ),
        (
            "This Agreement renews automatically unless either party gives notice at least one month before the end.",
            31,
        ),
        (
            "This Agreement renews automatically unless either party gives two weeks' notice.",
            14,
        ),
    ] {
        assert_eq!(
            value(&values(text), Field::RenewalNoticeDays),
            Some(&json!(days)),
            "{text}"
        );
    }
}

#[test]
fn amounts_written_every_way_read_the_same() {
    for (written, normal) in [
        ("120.000,00", "120000.00"),
        ("120.000", "120000.00"),
        ("120 000", "120000.00"),
        ("240'000", "240000.00"),
        ("1,234.56", "1234.56"),
        ("4,50,000", "450000.00"),
        ("1234,5", "1234.50"),
        ("18.50", "18.50"),
    ] {
        assert_eq!(normal_amount(written).as_deref(), Some(normal), "{written}");
    }
    assert_eq!(normal_amount("1.2345"), None);
}

#[test]
fn the_tail_of_a_number_is_no_amount() {
    // "000 EUR" read from the comma of "120,000 EUR" would be a value of nothing.
    let found = values("The total fee is 120,000 EUR.");
    assert_eq!(
        value(&found, Field::Value),
        Some(&json!({"amount": "120000.00", "currency": "EUR"}))
    );
    // A numbered line's own number before it is not.
    let found = values("4. EUR 240.000 in total.");
    assert_eq!(
        value(&found, Field::Value),
        Some(&json!({"amount": "240000.00", "currency": "EUR"}))
    );
}

#[test]
fn hostile_openings_of_each_language_are_read_in_bounded_time() {
    // Openings that never close, far more of them than is read: each rule gives up in
    // linear time.
    for opening in [
        "zwischen A und ",
        "entre A et ",
        "De una parte, A, y De otra parte ",
        "vom 1. März 2025 ",
        "EUR 1.000 120 000 € ",
    ] {
        let text = opening.repeat(2 * MAX_SCAN_BYTES / opening.len());
        let started = std::time::Instant::now();
        extract(&text);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{opening:?}"
        );
    }
}

#[test]
fn a_text_is_read_by_the_rules_of_the_languages_it_is_written_in() {
    use crate::kernel::language::other_languages;
    let english = "This Agreement is made between Banco de la Nación Argentina and the \
                   Supplier. The Supplier shall deliver the goods to the Buyer by the date \
                   of this order, and the Buyer shall pay for them.";
    assert_eq!(other_languages(english), [false, false, false]);
    let bilingual = format!(
        "{english}\nDieser Vertrag wird zwischen der Bank und dem Lieferanten geschlossen. \
         Der Lieferant liefert die Ware, und die Bank zahlt sie."
    );
    assert_eq!(other_languages(&bilingual), [true, false, false]);
    assert_eq!(
        other_languages("Le contrat est conclu pour un an et il ne sera pas renouvelé."),
        [false, true, false]
    );
    assert_eq!(
        other_languages("El contrato no se renovará y las partes se someten a la ley."),
        [false, false, true]
    );
}

#[test]
fn a_term_stated_before_its_notice_is_read_and_one_measuring_the_notice_is_not() {
    let english = values(
        "This Agreement runs for an initial term of two years, renewed unless either party \
         gives 90 days' notice.",
    );
    assert_eq!(value(&english, Field::TermMonths), Some(&json!(24)));
    let german = values("Der Vertrag beginnt am 1. Oktober 2025 und läuft 24 Monate.");
    assert_eq!(value(&german, Field::TermMonths), Some(&json!(24)));
    let spanish = values(
        "El contrato entra en vigor el 1 de septiembre de 2025 por un año y se prorroga \
         automáticamente por periodos anuales, salvo preaviso escrito de un mes.",
    );
    assert_eq!(value(&spanish, Field::TermMonths), Some(&json!(12)));
    assert_eq!(value(&spanish, Field::RenewalNoticeDays), Some(&json!(31)));
    let measured = values(
        "El Cliente podrá resolver el contrato con un preaviso de treinta días por un \
         plazo de tres meses.",
    );
    assert_eq!(value(&measured, Field::TermMonths), None);
}

#[test]
fn a_term_ending_after_months_a_belgian_start_and_a_spanish_start_over_the_signing_date() {
    let found = values(
        "Der Vertrag beginnt am 1. Jänner 2026 und endet nach 36 Monaten, ohne dass es \
         einer Kündigung bedarf. Rechnungen sind binnen 21 Tagen ab Rechnungsdatum ohne \
         Abzug zur Zahlung fällig.",
    );
    assert_eq!(value(&found, Field::TermMonths), Some(&json!(36)));
    assert_eq!(value(&found, Field::PaymentTermsDays), Some(&json!(21)));

    let found = values(
        "Le bail est consenti pour une durée de neuf années prenant cours le 1er février 2026.",
    );
    assert_eq!(
        value(&found, Field::EffectiveDate),
        Some(&json!("2026-02-01"))
    );

    let found = values(
        "En Sevilla, a 20 de febrero de 2026.\n\nSegunda. Duración. El arrendamiento \
         comienza el 1 de marzo de 2026 y tiene una duración de cinco años.",
    );
    assert_eq!(
        value(&found, Field::EffectiveDate),
        Some(&json!("2026-03-01"))
    );
}
