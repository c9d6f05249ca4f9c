//! The risk rules, pure: categories by their words in each language, the policy's
//! findings, and bounded time on hostile text.

use super::*;
use crate::intelligence::risk::severities::FindingSeverity;

fn policy() -> Policy {
    Policy {
        forbidden_terms: vec!["unlimited liability".into()],
        max_payment_days: Some(45),
        require_liability_cap: true,
        renewal_needs_notice: true,
        required_categories: vec![
            "payment".into(),
            "confidentiality".into(),
            "governing_law".into(),
        ],
        severities: Severities::default(),
        ..Policy::default()
    }
}

#[test]
fn a_clean_contract_has_no_findings() {
    let text = "Customer pays each invoice within thirty (30) days of receipt of the invoice. \
                Each party keeps the other's confidential information secret. \
                The supplier's liability is limited to the fees paid in the last twelve months. \
                This Agreement is governed by the laws of Scotland.";
    let findings = assess(text, &Terms::default(), &policy());
    assert_eq!(findings, vec![]);
    assert_eq!(level(&findings), Severity::None);
}

#[test]
fn clauses_and_caps_written_in_german_french_and_spanish_count() {
    for text in [
        "Rechnungen sind innerhalb von 30 Tagen zahlbar. Die Parteien halten alle \
         Informationen vertraulich. Die Haftung ist auf den Auftragswert begrenzt. \
         Dieser Vertrag unterliegt deutschem Recht.",
        "Les factures sont payables à 30 jours. Les informations échangées sont \
         confidentielles. La responsabilité du Prestataire est plafonnée au prix payé. \
         Le présent contrat est régi par le droit français.",
        "Las facturas se pagarán en 30 días. Las partes guardarán secreto de la información \
         confidencial. La responsabilidad del Proveedor se limita al precio. \
         El presente contrato se regirá por la legislación española.",
    ] {
        assert_eq!(assess(text, &Terms::default(), &policy()), vec![], "{text}");
    }
    let uncapped = "Der Auftragnehmer haftet unbeschränkt. Es gilt deutsches Recht.";
    let codes: Vec<String> = assess(uncapped, &Terms::default(), &policy())
        .into_iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(
        codes,
        ["no_liability_cap", "missing_clause", "missing_clause"]
    );
}

#[test]
fn every_rule_of_the_policy_finds_its_breach_with_a_reason() {
    let text = "The supplier accepts unlimited liability for any loss. \
                Customer pays each invoice within ninety (90) days of receipt of the invoice. \
                This agreement renews automatically for successive one-year terms.";
    let findings = assess(text, &Terms::default(), &policy());
    let codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "forbidden_term",
            "no_liability_cap",
            "missing_clause",
            "missing_clause",
            "payment_terms_too_long",
            "renewal_without_notice"
        ]
    );
    assert_eq!(level(&findings), Severity::High);
    let missing: Vec<_> = findings
        .iter()
        .filter_map(|f| f.category.as_deref())
        .collect();
    assert!(
        missing.contains(&"confidentiality") && missing.contains(&"governing_law"),
        "{missing:?}"
    );
    assert!(findings[0]
        .passage
        .as_deref()
        .unwrap()
        .contains("unlimited liability"));
    assert!(findings[4]
        .passage
        .as_deref()
        .unwrap()
        .contains("ninety (90) days"));
}

#[test]
fn the_policy_sets_each_findings_severity_and_so_the_level() {
    let text = "Customer pays each invoice within ninety (90) days of receipt of the invoice. \
                Each party keeps the other's confidential information secret. \
                This agreement renews automatically for successive one-year terms.";
    let severity_of = |findings: &[Finding], code: &str, category: Option<&str>| {
        findings
            .iter()
            .find(|f| f.code == code && (category.is_none() || f.category.as_deref() == category))
            .map(|f| f.severity)
    };
    let defaults = assess(text, &Terms::default(), &policy());
    assert_eq!(level(&defaults), Severity::Medium);
    assert_eq!(
        severity_of(&defaults, "missing_clause", Some("governing_law")),
        Some(Severity::Medium)
    );

    let mut weighed = policy();
    weighed.severities = serde_json::from_value(serde_json::json!({
        "missing_clause": "low",
        "missing_clause_by_category": {"governing_law": "high"},
        "payment_terms_too_long": "low",
        "renewal_without_notice": "low",
    }))
    .unwrap();
    let findings = assess(text, &Terms::default(), &weighed);
    let sorted_codes = |findings: &[Finding]| {
        let mut codes: Vec<String> = findings.iter().map(|f| f.code.clone()).collect();
        codes.sort();
        codes
    };
    assert_eq!(
        sorted_codes(&findings),
        sorted_codes(&defaults),
        "the same findings"
    );
    assert_eq!(
        severity_of(&findings, "missing_clause", Some("governing_law")),
        Some(Severity::High)
    );
    assert_eq!(
        findings[0].category.as_deref(),
        Some("governing_law"),
        "worst first"
    );
    for code in ["payment_terms_too_long", "renewal_without_notice"] {
        assert_eq!(
            severity_of(&findings, code, None),
            Some(Severity::Low),
            "{code}"
        );
    }
    assert_eq!(level(&findings), Severity::High);
}

#[test]
fn the_contracts_own_fields_and_clauses_count() {
    let text = "This agreement renews automatically for successive terms. Fees are payable net 60.";
    let terms = Terms {
        auto_renew: true,
        renewal_notice_days: Some(30),
        payment_terms_days: Some(30),
        attached_categories: vec!["confidentiality".into(), "governing_law".into()],
        ..Terms::default()
    };
    assert_eq!(assess(text, &terms, &policy()), vec![]);
}

#[test]
fn the_quick_start_lease_lacks_only_a_termination_clause_under_the_defaults() {
    let script = include_str!("../../../../scripts/run.sh");
    let line = script
        .lines()
        .find(|l| l.contains("\"title\":\"Office lease"))
        .expect("the demo lease in scripts/run.sh");
    let lease: serde_json::Value =
        serde_json::from_str(line.trim().trim_end_matches(" \\").trim_matches('\''))
            .expect("the demo lease is JSON");
    let defaults = Policy {
        forbidden_terms: vec![],
        max_payment_days: None,
        require_liability_cap: true,
        renewal_needs_notice: true,
        // What the built-in lease type requires.
        required_categories: vec!["payment".into(), "termination".into()],
        severities: Severities::default(),
        ..Policy::default()
    };
    let findings = assess(
        lease["body"].as_str().unwrap(),
        &Terms::default(),
        &defaults,
    );
    let found: Vec<_> = findings
        .iter()
        .map(|f| (f.code.as_str(), f.category.as_deref()))
        .collect();
    assert_eq!(found, [("missing_clause", Some("termination"))]);
    assert_eq!(level(&findings), Severity::Medium);
}

#[test]
fn a_passage_is_given_the_category_it_speaks_of_most() {
    let (category, sure) =
        category_by_words("Each party keeps the other's confidential information confidential.")
            .unwrap();
    assert_eq!(category, "confidentiality");
    let (_, tied) = category_by_words("Fees; confidential.").unwrap();
    assert!(tied < sure, "{tied} < {sure}");
    assert_eq!(category_by_words("The sky is blue."), None);
}

#[test]
fn each_sentence_about_one_category_on_its_own_places_the_passage_there_too() {
    let law_and_courts = "5. Governing Law. This Agreement is governed by the laws of \
        Delaware. Any dispute arising hereunder shall be resolved in the courts of Wilmington.";
    let placed: Vec<_> = categories_by_sentence(law_and_courts)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(placed, ["governing_law", "dispute_resolution"]);
    // The same in German, where the courts are a sentence of their own.
    let german = "Dieser Vertrag unterliegt deutschem Recht. Für alle Streitigkeiten ist \
        das Landgericht München zuständig.";
    let placed: Vec<_> = categories_by_sentence(german)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(placed, ["governing_law", "dispute_resolution"]);
    // A sentence that names two categories as often says neither on its own.
    assert!(
        categories_by_sentence("Upon termination, the Customer pays the fees accrued.").is_empty()
    );
    // A category said twice is listed once, with its surer sentence's confidence.
    let twice = categories_by_sentence(
        "Invoices are due monthly. Late payment of an invoice bears interest, and fees \
         are payable in euros.",
    );
    assert_eq!(twice.len(), 1, "{twice:?}");
    assert_eq!(twice[0].0, "payment");
    assert!(twice[0].1 > word_confidence(1, false), "{twice:?}");
}

#[test]
fn a_denied_renewal_is_none_and_a_renewal_with_its_notice_is_one() {
    for denied in [
        "This Agreement shall not renew automatically.",
        "Il ne sera pas renouvelé tacitement.",
        "Der Vertrag verlängert sich nicht automatisch.",
        "El contrato finalizará el 31 de mayo de 2026, sin prórroga automática.",
    ] {
        assert!(!categories(denied).contains(&"auto_renewal"), "{denied}");
    }
    // Its words tie with the notice that stops it, and it is still a renewal clause.
    for renewal in [
        "Er verlängert sich stillschweigend um ein Jahr, wenn er nicht gekündigt wird.",
        "Il sera renouvelé par tacite reconduction, sauf dénonciation avec un préavis de trois mois.",
        "This Agreement renews automatically unless terminated on 90 days' notice.",
    ] {
        assert_eq!(
            category_by_words(renewal).map(|(c, _)| c),
            Some("auto_renewal"),
            "{renewal}"
        );
    }
}

#[test]
fn a_company_form_is_not_a_liability_clause() {
    for party in [
        "Mieter: Café Lindenblüte UG (haftungsbeschränkt), Lindenallee 7, Hamburg",
        "Norwood Medical Devices LLC, a Minnesota limited liability company",
        "Holding Ardennes S.à r.l., société à responsabilité limitée de droit luxembourgeois",
        "Nordlicht Gesellschaft mit beschränkter Haftung, Hamburg",
    ] {
        assert_eq!(category_by_words(party), None, "{party}");
    }
    assert_eq!(
        category_by_words("Die Haftungsbeschränkung gilt nicht bei Vorsatz.").map(|(c, _)| c),
        Some("liability")
    );
}

#[test]
fn the_law_a_contract_is_under_is_named_in_more_ways_than_governed_by() {
    for passage in [
        "Dutch law applies. Disputes go to the court in Rotterdam.",
        "New York law governs this Agreement.",
        "This contract is subject to the law of the Federal Republic of Germany.",
        "This contract is submitted to French law.",
    ] {
        assert_eq!(
            category_by_words(passage).map(|(c, _)| c),
            Some("governing_law"),
            "{passage}"
        );
    }
    for passage in [
        "The Caterer will comply with food hygiene law and keep its rating.",
        "To the extent permitted by applicable law, the supplier is not liable.",
    ] {
        assert_ne!(
            category_by_words(passage).map(|(c, _)| c),
            Some("governing_law"),
            "{passage}"
        );
    }
}

#[test]
fn restrictive_covenants_assignment_and_renewal_have_categories_of_their_own() {
    for (passage, expected) in [
        (
            "While employed, you must not work for a competitor without our permission.",
            "non_compete",
        ),
        (
            "For twelve months the Employee shall not solicit any client of the Firm.",
            "non_compete",
        ),
        (
            "The Tenant must not assign, underlet or charge the Premises without consent.",
            "assignment",
        ),
        (
            "Neither party may assign this Agreement without the other's written consent.",
            "assignment",
        ),
        (
            "Tenant shall not sublet the property or assign this lease.",
            "assignment",
        ),
        (
            "The subscription renews automatically for successive twelve-month periods.",
            "auto_renewal",
        ),
        (
            "This agreement is tacitly renewed for a further year each time.",
            "auto_renewal",
        ),
    ] {
        assert_eq!(
            category_by_words(passage).map(|(c, _)| c),
            Some(expected),
            "{passage}"
        );
    }
    // Assigning rights in work is intellectual property, and a competent court is
    // no competitor.
    for (passage, not) in [
        (
            "Contractor hereby assigns to Company all right, title and interest in all work product.",
            "assignment",
        ),
        (
            "Disputes are submitted to the competent court in Rotterdam.",
            "non_compete",
        ),
    ] {
        assert_ne!(
            category_by_words(passage).map(|(c, _)| c),
            Some(not),
            "{passage}"
        );
    }
}

#[test]
fn hostile_text_is_bounded() {
    let text = format!("{}liability ", "é😀".repeat(300_000));
    let started = std::time::Instant::now();
    let _ = assess(&text, &Terms::default(), &policy());
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn ending_or_cancelling_the_contract_is_termination_and_paying_rent_or_salary_is_payment() {
    for text in [
        "Either side can end this agreement on three months' written notice.",
        "The owner may end the licence at once if the images are misused.",
        "Ending the tenancy. The tenant gives one month's notice.",
        "This agreement renews each year unless cancelled by registered letter.",
        "Cancellation: if the client cancels within 14 days the whole fee is payable.",
        "Le Preneur peut y mettre fin à l'expiration de chaque triennat.",
        "Chaque partie peut mettre fin au contrat moyennant un préavis de trois mois.",
    ] {
        assert!(categories(text).contains(&"termination"), "{text}");
    }
    // A lease is handed on as a contract is.
    for text in [
        "Il est interdit au Preneur de céder le bail sans l'accord du Bailleur.",
        "La cession du bail requiert l'accord écrit du Bailleur.",
    ] {
        assert!(categories(text).contains(&"assignment"), "{text}");
    }
    for text in [
        "Monthly rent is $1,450, due on the first day of each month.",
        "Your salary is AUD 68,000 per year.",
        "Licensee shall pay Licensor a royalty of 8% of net sales.",
        "The Buyer will pay the purchase price at closing.",
        "Monthly instalment: EUR 389 including VAT.",
    ] {
        assert!(categories(text).contains(&"payment"), "{text}");
    }
    // Ending something else, or cancelling an order, is not ending the contract.
    for text in [
        "The season ends on 31 May and the shirts are returned.",
        "The Customer may cancel an order before it ships.",
    ] {
        assert!(!categories(text).contains(&"termination"), "{text}");
    }
}

#[test]
fn who_owns_the_results_marks_and_logos_is_intellectual_property() {
    for text in [
        "All reports become the Client's property upon payment.",
        "Results belong to the University.",
        "The Client owns the content once paid for.",
        "The Sponsor must approve any use of its logo.",
        "The franchisee may use the Marks only in the store.",
        "All work product vests in the Company.",
    ] {
        assert!(
            categories(text).contains(&"intellectual_property"),
            "{text}"
        );
    }
    for text in [
        "Title to the goods passes to the Buyer on delivery.",
        "The Supplier owns the vehicles used to deliver the goods.",
    ] {
        assert!(
            !categories(text).contains(&"intellectual_property"),
            "{text}"
        );
    }
}

#[test]
fn the_limits_on_renewal_notice_governing_law_and_term_find_their_breaches() {
    let text = "This Agreement commences on 1 March 2026 and continues for an initial term of \
                five (5) years. It renews automatically for successive one-year terms unless \
                either party gives notice of non-renewal at least one hundred and twenty (120) \
                days before the end of the then-current term. This Agreement is governed by the \
                laws of the State of New York.";
    let limits = Policy {
        max_renewal_notice_days: Some(90),
        allowed_governing_laws: vec!["England".into(), "Germany".into()],
        max_term_months: Some(36),
        ..Policy::default()
    };
    let findings = assess(text, &Terms::default(), &limits);
    let found: Vec<_> = findings
        .iter()
        .map(|f| (f.code.as_str(), f.severity, f.reason.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "renewal_notice_too_long",
                Severity::Medium,
                "stopping its renewal takes 120 days' notice; the policy allows at most 90"
            ),
            (
                "governing_law_not_allowed",
                Severity::Medium,
                "it is governed by the law of State of New York; the policy allows England, Germany"
            ),
            (
                "term_too_long",
                Severity::Medium,
                "its term is 60 months; the policy allows at most 36"
            ),
        ]
    );
    for finding in &findings {
        assert!(
            finding.passage.is_some(),
            "read from the text, so quoted: {finding:?}"
        );
    }

    // The contract's own fields outrank the text, and within the limits nothing is found.
    let fields = Terms {
        renewal_notice_days: Some(60),
        governing_law: Some("England and Wales".into()),
        term_months: Some(36),
        ..Terms::default()
    };
    assert_eq!(assess(text, &fields, &limits), vec![]);
    // Without limits, the same text breaks none.
    assert_eq!(assess(text, &Terms::default(), &Policy::default()), vec![]);

    // A field beyond the limit is found without a passage: the text did not say it.
    let beyond = Terms {
        term_months: Some(37),
        ..fields
    };
    let found = assess(text, &beyond, &limits);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].code.as_str(), &found[0].passage),
        ("term_too_long", &None)
    );
}

#[test]
fn a_contract_naming_no_law_or_term_breaks_no_limit_and_the_severities_apply() {
    let limits = Policy {
        max_renewal_notice_days: Some(30),
        allowed_governing_laws: vec!["Germany".into()],
        max_term_months: Some(12),
        severities: Severities {
            governing_law_not_allowed: FindingSeverity::High,
            ..Severities::default()
        },
        ..Policy::default()
    };
    let silent = "The Supplier delivers the goods and the Customer pays for them.";
    assert_eq!(assess(silent, &Terms::default(), &limits), vec![]);
    let french = "Le présent contrat est régi par le droit français.";
    let findings = assess(french, &Terms::default(), &limits);
    assert_eq!(
        findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect::<Vec<_>>(),
        [("governing_law_not_allowed", Severity::High)]
    );
    assert_eq!(level(&findings), Severity::High);
}
