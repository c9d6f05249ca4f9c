use super::*;
use chrono::NaiveDate;

const SERVICES: &str = "MASTER SERVICES AGREEMENT\n\n\
This Master Services Agreement is made and entered into between Acme Corp., a Delaware \
corporation (\"Customer\"), and Globex Ltd (\"Supplier\"). It is effective as of March 1, 2025.\n\n\
1. Term. This Agreement shall continue for an initial term of twelve (12) months and shall \
automatically renew for successive one-year periods unless either party gives at least \
sixty (60) days' written notice of non-renewal.\n\n\
2. Fees. The total contract value shall not exceed $120,000.00. Customer shall pay each \
invoice within thirty (30) days of receipt of the invoice. A late fee of $50 applies.\n\n\
3. Governing Law. This Agreement shall be governed by the laws of the State of New York \
without regard to its conflict of laws rules.\n";

fn field(found: &[Found], field: Field) -> Option<&Found> {
    found.iter().find(|f| f.field == field)
}

#[test]
fn a_services_agreement_yields_every_term_with_its_sentence() {
    let found = extract(SERVICES);
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(
        value(Field::Parties),
        Some(json!(["Acme Corp.", "Globex Ltd"]))
    );
    assert_eq!(value(Field::EffectiveDate), Some(json!("2025-03-01")));
    assert_eq!(value(Field::TermMonths), Some(json!(12)));
    assert_eq!(value(Field::AutoRenew), Some(json!(true)));
    assert_eq!(value(Field::RenewalNoticeDays), Some(json!(60)));
    assert_eq!(
        value(Field::Value),
        Some(json!({"amount": "120000.00", "currency": "USD"}))
    );
    assert_eq!(value(Field::PaymentTermsDays), Some(json!(30)));
    assert_eq!(value(Field::GoverningLaw), Some(json!("State of New York")));
    assert_eq!(value(Field::EndDate), None, "no end date is stated");

    let law = field(&found, Field::GoverningLaw).unwrap();
    assert!(
        law.passage.starts_with("This Agreement shall be governed"),
        "{law:?}"
    );
    let chars: Vec<char> = SERVICES.chars().collect();
    let at: String = chars[law.start..law.end].iter().collect();
    assert_eq!(at.trim(), law.passage, "offsets point at the passage");
    for f in &found {
        assert!((0.0..=1.0).contains(&f.confidence), "{f:?}");
    }
}

#[test]
fn the_surer_wording_wins_and_a_labelled_date_is_surest() {
    let text = "This agreement is dated 2 January 2024.\nEffective Date: 2024-02-01\n\
                The term ends on the 31st day of December, 2026.";
    let found = extract(text);
    let effective = field(&found, Field::EffectiveDate).unwrap();
    assert_eq!(effective.value, json!("2024-02-01"));
    assert_eq!(effective.confidence, 0.9);
    assert_eq!(
        field(&found, Field::EndDate).unwrap().value,
        json!("2026-12-31")
    );
}

#[test]
fn a_negated_renewal_says_no_and_an_unrelated_notice_is_not_the_renewal_notice() {
    let text = "This Agreement shall not automatically renew. Either party may terminate \
                for convenience on ninety (90) days' written notice.";
    let found = extract(text);
    assert_eq!(field(&found, Field::AutoRenew).unwrap().value, json!(false));
    assert!(
        field(&found, Field::RenewalNoticeDays).is_none(),
        "{found:?}"
    );
}

#[test]
fn amounts_without_words_of_value_are_not_the_value() {
    let found = extract("Supplier shall keep insurance of at least $5,000,000 per claim.");
    assert!(field(&found, Field::Value).is_none(), "{found:?}");
    let found = extract("The fees are EUR 45,500 per year, payable net 45.");
    assert_eq!(
        field(&found, Field::Value).unwrap().value,
        json!({"amount": "45500.00", "currency": "EUR"})
    );
    assert_eq!(
        field(&found, Field::PaymentTermsDays).unwrap().value,
        json!(45)
    );
}

#[test]
fn governing_law_reads_the_place_and_stops_at_its_end() {
    let found = extract("This Agreement is governed by and construed in accordance with the laws of England and Wales.");
    assert_eq!(
        field(&found, Field::GoverningLaw).unwrap().value,
        json!("England and Wales")
    );
}

#[test]
fn party_names_keep_their_abbreviations() {
    let found = extract(
        "This lease is made between Pactum Demo Ltd (the Tenant) and Initech Łódź Sp. z o.o. (the Landlord).",
    );
    assert_eq!(
        field(&found, Field::Parties).unwrap().value,
        json!(["Pactum Demo Ltd", "Initech Łódź Sp. z o.o."])
    );
    let found = extract("Agreed between Alpha GmbH and Beta Inc. The parties agree as follows.");
    assert_eq!(
        field(&found, Field::Parties).unwrap().value,
        json!(["Alpha GmbH", "Beta Inc"])
    );
}

#[test]
fn numbers_in_words_and_digits() {
    assert_eq!(word_number("thirty"), Some(30));
    assert_eq!(word_number("twenty-four"), Some(24));
    assert_eq!(word_number("least sixty"), Some(60));
    assert_eq!(word_number("several"), None);
    let found = extract("The initial term of 3 years starts on the Effective Date.");
    assert_eq!(field(&found, Field::TermMonths).unwrap().value, json!(36));
}

#[test]
fn dates_that_do_not_exist_are_not_read() {
    assert_eq!(parse_date("February 30, 2025"), None);
    assert_eq!(parse_date("2025-13-01"), None);
    assert_eq!(
        parse_date("1st March 2025"),
        NaiveDate::from_ymd_opt(2025, 3, 1)
    );
    assert!(extract("Effective Date: February 30, 2025").is_empty());
}

#[test]
fn dates_in_digits_are_read_in_the_documents_usage_and_flagged_when_the_order_was_a_choice() {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // Day first unless told otherwise; dots day first everywhere.
    assert_eq!(parse_date("01.02.2025"), Some(date(2025, 2, 1)));
    assert_eq!(parse_date("3/4/2025"), Some(date(2025, 4, 3)));
    assert_eq!(
        parse_date_as("03/04/2025", true),
        Some((date(2025, 3, 4), true))
    );
    assert_eq!(
        parse_date_as("03/04/2025", false),
        Some((date(2025, 4, 3), true))
    );
    assert_eq!(
        parse_date_as("03.04.2025", true),
        Some((date(2025, 4, 3), false))
    );
    // Numbers that can be read one way only are read that way, whatever the usage.
    assert_eq!(
        parse_date_as("25/12/2025", true),
        Some((date(2025, 12, 25), false))
    );
    assert_eq!(
        parse_date_as("12-25-2025", false),
        Some((date(2025, 12, 25), false))
    );
    assert_eq!(
        parse_date_as("05/05/2025", true),
        Some((date(2025, 5, 5), false))
    );
    assert_eq!(parse_date("31/02/2025"), None);
    assert_eq!(parse_date("13/13/2025"), None);
    assert_eq!(parse_date("1/2/2"), None);
    assert_eq!(parse_date("1/2/202"), None);

    assert!(us_usage("governed by the laws of the State of New York"));
    assert!(us_usage("a fee of USD 5,000"));
    assert!(!us_usage("governed by the laws of England and Wales"));
    assert!(!us_usage("subject to the laws of the State of Victoria"));

    let us = extract(
        "This Agreement is effective as of 03/04/2025. It is governed by the laws of the \
         State of New York.",
    );
    let effective = field(&us, Field::EffectiveDate).unwrap();
    assert_eq!(effective.value, json!("2025-03-04"));
    assert!(effective.confidence <= 0.5, "{}", effective.confidence);
    let english = extract(
        "This Agreement is effective as of 03/04/2025. It is governed by the laws of England.",
    );
    assert_eq!(
        field(&english, Field::EffectiveDate).unwrap().value,
        json!("2025-04-03")
    );
    let plain = extract("Start date: 25/12/2025\nThe tenancy ends on 24/12/2026.");
    let start = field(&plain, Field::EffectiveDate).unwrap();
    assert_eq!(start.value, json!("2025-12-25"));
    assert!(start.confidence > 0.5);
    assert_eq!(
        field(&plain, Field::EndDate).unwrap().value,
        json!("2026-12-24")
    );
}

#[test]
fn hostile_text_is_read_in_bounded_time_and_offsets_stay_on_characters() {
    // Multi-byte characters everywhere, a term after them, and far more text than is read.
    let mut text = "é€😀 ".repeat(5_000);
    text.push_str("governed by the laws of Österreich. ");
    text.push_str(&"between A and ".repeat(200_000));
    let started = std::time::Instant::now();
    let found = extract(&text);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let law = field(&found, Field::GoverningLaw).unwrap();
    let chars: Vec<char> = text.chars().collect();
    let at: String = chars[law.start..law.end].iter().collect();
    assert_eq!(at.trim(), law.passage);
    assert!(extract("\u{0}\u{feff}\u{202e}$$$ 9999999999999999999 USD").is_empty());
}

#[test]
fn the_quick_start_lease_yields_every_term_the_tour_shows() {
    let script = include_str!("../../../scripts/run.sh");
    let line = script
        .lines()
        .find(|l| l.contains("\"title\":\"Office lease"))
        .expect("the demo lease in scripts/run.sh");
    let lease: Value = serde_json::from_str(line.trim().trim_end_matches(" \\").trim_matches('\''))
        .expect("the demo lease is JSON");
    let found = extract(lease["body"].as_str().unwrap());
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(
        value(Field::Parties),
        Some(json!(["Pactum Demo Ltd", "Initech Łódź Sp. z o.o."]))
    );
    assert_eq!(value(Field::EffectiveDate), Some(json!("2026-02-01")));
    assert_eq!(value(Field::TermMonths), Some(json!(36)));
    assert_eq!(value(Field::AutoRenew), Some(json!(true)));
    assert_eq!(value(Field::RenewalNoticeDays), Some(json!(90)));
    assert_eq!(
        value(Field::Value),
        Some(json!({"amount": "216000.00", "currency": "EUR"}))
    );
    assert_eq!(value(Field::PaymentTermsDays), Some(json!(14)));
    assert_eq!(
        value(Field::GoverningLaw),
        Some(json!("Republic of Poland"))
    );
}

#[test]
fn order_forms_and_letters_name_their_terms_by_labels_and_roles() {
    let text =
        "ORDER FORM\n\nSupplier: Brightwell Tools Ltd, Leeds\nCustomer: Marlow Joinery Limited\n\
                Start date: 2 June 2025\nEnd: 1 June 2027\n\
                Term: six months, tacitly renewed for a further year each time.\n\
                Monthly rent is EUR 4.500,00. The Customer will pay within 14 days.\n\
                Dutch law applies.";
    let found = extract(text);
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(
        value(Field::Parties),
        Some(json!(["Brightwell Tools Ltd", "Marlow Joinery Limited"]))
    );
    assert_eq!(value(Field::EffectiveDate), Some(json!("2025-06-02")));
    assert_eq!(value(Field::EndDate), Some(json!("2027-06-01")));
    assert_eq!(value(Field::TermMonths), Some(json!(6)));
    assert_eq!(value(Field::AutoRenew), Some(json!(true)));
    assert_eq!(
        value(Field::Value),
        Some(json!({"amount": "4500.00", "currency": "EUR"}))
    );
    assert_eq!(value(Field::PaymentTermsDays), Some(json!(14)));
    assert_eq!(value(Field::GoverningLaw), Some(json!("Netherlands")));
}

#[test]
fn defined_parties_indian_amounts_and_laws_named_after_their_place() {
    let text = "This Agreement is executed at Nagpur on this 4th day of June, 2025 by Vidarbha \
                Cotton Mills Limited (hereinafter called \"the Seller\") and Deccan Garments \
                Private Limited (hereinafter called \"the Buyer\").\n\
                The price is Rs. 12,50,000 only.\n\
                The laws of India shall govern this Agreement.";
    let found = extract(text);
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(value(Field::EffectiveDate), Some(json!("2025-06-04")));
    assert_eq!(
        value(Field::Value),
        Some(json!({"amount": "1250000.00", "currency": "INR"}))
    );
    assert_eq!(value(Field::GoverningLaw), Some(json!("India")));
    let parties = value(Field::Parties).unwrap();
    assert_eq!(
        parties,
        json!([
            "Vidarbha Cotton Mills Limited",
            "Deccan Garments Private Limited"
        ])
    );
}

#[test]
fn a_warranty_or_an_option_period_is_not_the_contract_term() {
    for text in [
        "The goods will be free from defects for eighteen months after delivery.",
        "The Company has an option to negotiate a licence for six months after the end of the Project.",
    ] {
        assert_eq!(field(&extract(text), Field::TermMonths), None, "{text}");
    }
}

#[test]
fn two_digit_years_are_read_in_this_century_up_to_68_and_section_numbers_are_not_dates() {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(parse_date("1/2/25"), Some(date(2025, 2, 1)));
    assert_eq!(parse_date("01.02.68"), Some(date(2068, 2, 1)));
    assert_eq!(parse_date("31-12-69"), Some(date(1969, 12, 31)));
    assert_eq!(
        parse_date_as("03/04/25", true),
        Some((date(2025, 3, 4), true))
    );
    let found = extract("Effective date: 15/01/26\nEnd date: 14.01.27");
    assert_eq!(
        field(&found, Field::EffectiveDate).unwrap().value,
        json!("2026-01-15")
    );
    assert_eq!(
        field(&found, Field::EndDate).unwrap().value,
        json!("2027-01-14")
    );
    // Dotted or hyphenated with a two-digit year only when day and month have two
    // digits each: "clause 5.3.10" is a section, not the fifth of March 2010.
    let sections = extract("The works start from 5.3.10 of the Specification.");
    assert!(field(&sections, Field::EffectiveDate).is_none());
    let padded = extract("The works start from 05.03.10 of the calendar.");
    assert_eq!(
        field(&padded, Field::EffectiveDate).unwrap().value,
        json!("2010-03-05")
    );
}

#[test]
fn parties_are_named_by_any_role_their_short_name_or_initials_in_every_defining_form() {
    let cases: [(&str, [&str; 2]); 7] = [
        (
            "This Lease is made by Kestrel Holdings plc (\"Kestrel\") and the City of Norwood, \
             Ohio (\"City\").",
            ["Kestrel Holdings plc", "City of Norwood, Ohio"],
        ),
        (
            "Northgate Athletic Club (\"the Club\") and Brindle Paints Ltd (\"the Sponsor\") \
             agree as follows.",
            ["Northgate Athletic Club", "Brindle Paints Ltd"],
        ),
        (
            "Meals are served by Copper Kettle Foods Ltd (\"the Caterer\") at the plant of \
             International Widget Machines Inc (\"IWM\").",
            [
                "Copper Kettle Foods Ltd",
                "International Widget Machines Inc",
            ],
        ),
        (
            "Between Marie Dubois Conseil, sole trader, Nantes (the Consultant)\n\
             and Verrerie Alpine SARL, Grenoble (the Client), signed on 2 May 2025.",
            ["Marie Dubois Conseil", "Verrerie Alpine SARL"],
        ),
        (
            "agreed on 3 June 2025 between:\nBiuro Rachunkowe Sp. z o.o. with its registered \
             seat in Gdańsk, hereinafter \"the Provider\",\nand Stocznia Północ S.A. with its \
             registered seat in Gdynia, hereinafter \"the Client\".",
            ["Biuro Rachunkowe Sp. z o.o.", "Stocznia Północ S.A."],
        ),
        (
            "MEMORANDUM OF UNDERSTANDING\n\nbetween the University of Westmoor and the \
             Fenwick Institute of Soil Science\n\nsigned on 1 March 2025",
            [
                "University of Westmoor",
                "Fenwick Institute of Soil Science",
            ],
        ),
        (
            "This agreement is made between Acme Corp., a Delaware corporation (\"Customer\"), \
             and Globex Ltd (\"Supplier\").",
            ["Acme Corp.", "Globex Ltd"],
        ),
    ];
    for (text, parties) in cases {
        let found = extract(text);
        let named = field(&found, Field::Parties).map(|f| f.value.clone());
        assert_eq!(named, Some(json!(parties)), "{text}");
    }
}

#[test]
fn defined_things_and_document_names_are_not_parties() {
    for text in [
        "The Licensor grants a licence to the Licensed Software, as updated (the \"Software\"), \
         and to the Hosting Platform (the \"Platform\").",
        "This Master Services Agreement (\"Master\") covers the Premises (the Premises) and \
         the Equipment (the Equipment).",
    ] {
        let found = extract(text);
        assert_eq!(field(&found, Field::Parties), None, "{text}");
    }
}

#[test]
fn an_end_said_with_a_participle_or_as_the_second_date_of_a_between_is_read() {
    let found = extract(
        "The Owner lets the yard for a term of three years from and including 2 May 2025 \
         and ending on 1 May 2028.",
    );
    assert_eq!(
        field(&found, Field::EndDate).map(|f| f.value.clone()),
        Some(json!("2028-05-01"))
    );
    let found =
        extract("The Trainer shall run six courses between 10 March 2025 and 30 June 2025.");
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(value(Field::EffectiveDate), Some(json!("2025-03-10")));
    assert_eq!(value(Field::EndDate), Some(json!("2025-06-30")));
    // A plainer statement of the contract's own dates wins over a "between".
    let found = extract(
        "This Agreement is effective 1 January 2025 and expires on 31 December 2026. \
         Deliveries are made between 1 February 2025 and 30 April 2025.",
    );
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(value(Field::EffectiveDate), Some(json!("2025-01-01")));
    assert_eq!(value(Field::EndDate), Some(json!("2026-12-31")));
}

#[test]
fn a_start_followed_by_a_length_gives_both() {
    let found = extract(
        "Brightside Ltd will clean the depot of Norland Freight Ltd from 1 October 2025 for \
         eighteen months.",
    );
    let value = |f| field(&found, f).map(|f| f.value.clone());
    assert_eq!(value(Field::EffectiveDate), Some(json!("2025-10-01")));
    assert_eq!(value(Field::TermMonths), Some(json!(18)));
}

#[test]
fn a_short_name_after_between_is_the_names_own() {
    let found = extract(
        "SUPPLY TERMS\n\nBetween Harrow Valley Dairies Ltd (\"Harrow\"), Leeds\n\
         Buyer: Quill & Sons Ltd\n",
    );
    assert_eq!(
        field(&found, Field::Parties).map(|f| f.value.clone()),
        Some(json!(["Harrow Valley Dairies Ltd", "Quill & Sons Ltd"]))
    );
}

#[test]
fn an_amount_under_a_heading_of_its_own_is_read_by_the_headings_words() {
    let found = extract(
        "2. Works. Refitting of the kitchen.\n3. Contract Sum. £48,250.00 excluding VAT.\n",
    );
    assert_eq!(
        field(&found, Field::Value).map(|f| f.value.clone()),
        Some(json!({"amount": "48250.00", "currency": "GBP"}))
    );
    // A heading that says nothing of value, or a sentence before on the line, does not.
    for text in [
        "7. Insurance. £5,000,000 of public liability cover.\n",
        "The Contractor keeps the site tidy and the work is inspected weekly by the architect. £500 is retained.\n",
    ] {
        let found = extract(text);
        assert_eq!(field(&found, Field::Value), None, "{text}");
    }
}

#[test]
fn a_notice_of_non_renewal_written_in_many_words_is_read_by_its_figures() {
    for (text, days) in [
        (
            "It renews automatically unless either party gives notice of non-renewal at least \
             one hundred and twenty (120) days before the end of the term.",
            120,
        ),
        (
            "It renews automatically unless a party serves notice of non-renewal ninety days \
             before the renewal date.",
            90,
        ),
    ] {
        let found = extract(text);
        assert_eq!(
            field(&found, Field::RenewalNoticeDays).map(|f| f.value.clone()),
            Some(json!(days)),
            "{text}"
        );
    }
    // Words that are no number before the days are not read as one.
    let found = extract("It renews automatically; notice of non-renewal is due some days before.");
    assert_eq!(field(&found, Field::RenewalNoticeDays), None);
}
