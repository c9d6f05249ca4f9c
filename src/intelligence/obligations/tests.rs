//! Obligations read in English: what binds and what does not, due times, pronouns,
//! and hostile text.

use super::*;

fn obligations(text: &str) -> Vec<Obligation> {
    read(text)
}

/// Each obligation's party and action.
pub(super) fn parties_and_actions(found: &[Obligation]) -> Vec<(&str, &str)> {
    found
        .iter()
        .map(|o| (o.party.as_str(), o.action.as_str()))
        .collect()
}

#[test]
fn a_party_never_reaches_back_over_the_end_of_a_sentence() {
    let found = obligations(
        "The unit prices are in Exhibit B. Buyer shall pay undisputed invoices net 45 days. \
         It covers the Purchase Price. Seller shall deliver the goods. \
         Acme Corp. Ltd shall insure the goods. \
         John F. Smith shall sign the delivery notes.",
    );
    let parties: Vec<&str> = found.iter().map(|o| o.party.as_str()).collect();
    assert_eq!(
        parties,
        ["Buyer", "Seller", "Acme Corp. Ltd", "John F. Smith"]
    );
    assert_eq!(
        found[0].passage,
        "Buyer shall pay undisputed invoices net 45 days."
    );
    assert_eq!(found[1].passage, "Seller shall deliver the goods.");
}

#[test]
fn sentences_that_bind_a_party_with_their_due_times() {
    let found = obligations(
        "1. Fees. Customer shall pay each invoice within thirty (30) days of receipt of the invoice. \
         This Agreement shall continue for one year. \
         The Supplier shall deliver the monthly service report by March 1, 2026. \
         Each party shall not disclose the other's confidential information.",
    );
    let parties: Vec<&str> = found.iter().map(|o| o.party.as_str()).collect();
    assert_eq!(parties, ["Customer", "The Supplier", "Each party"]);
    assert_eq!(
        found[0].due,
        Some(Due {
            within_days: Some(30),
            after: Some("receipt of the invoice".into()),
            ..Due::default()
        })
    );
    assert!(found[0].action.starts_with("pay each invoice"));
    assert_eq!(
        found[1].due.as_ref().unwrap().date.as_deref(),
        Some("2026-03-01")
    );
    assert_eq!(
        found[1].due.as_ref().unwrap().recurs.as_deref(),
        Some("monthly")
    );
    assert!(found[2].prohibition && found[2].due.is_none());
    assert!(found[2]
        .passage
        .starts_with("Each party shall not disclose"));
}

#[test]
fn a_due_date_in_digits_is_read_in_the_documents_usage() {
    let due = |text: &str| obligations(text)[0].due.clone().unwrap().date;
    let sentence = "The Supplier shall deliver the goods by 03/04/2026.";
    assert_eq!(due(sentence).as_deref(), Some("2026-04-03"));
    let american = format!("{sentence} This Agreement is governed by the laws of Texas.");
    assert_eq!(due(&american).as_deref(), Some("2026-03-04"));
}

#[test]
fn plain_english_parties_named_with_their_role_and_plural_undertakings_bind() {
    let found = obligations(
        "Once you have paid in full, we will transfer the copyright to you. \
         Harvest Table Ltd (\"the Caterer\") will run the staff restaurant. \
         The parties shall attempt to settle disputes. \
         The Licensee is obliged to pay the fee. The Parties undertake to keep it secret. \
         The Translator commits to deliver each batch.",
    );
    let parties: Vec<&str> = found.iter().map(|o| o.party.as_str()).collect();
    assert_eq!(
        parties,
        [
            "we",
            "Harvest Table Ltd",
            "The parties",
            "The Licensee",
            "The Parties",
            "The Translator"
        ]
    );
    assert!(found[0].action.starts_with("transfer the copyright"));
}

#[test]
fn liability_permissions_passives_warranties_and_objects_bind_no_one() {
    for text in [
        "Neither party shall be liable for lost profits.",
        "Neither party shall be held responsible for delay caused by flood.",
        "Escrow Agent shall not be liable for any action taken in good faith.",
        "Neither party shall be in breach if it is prevented by a Force Majeure Event.",
        "The University shall be free to publish the Results.",
        "Products shall be sold at Supplier's then-current price list.",
        "Disputes shall be resolved by binding arbitration in Phoenix.",
        "Information marked confidential shall not be published without consent.",
        "Seller warrants that all Products will be free from defects.",
        "The Supplier warrants that the Services will be performed with care.",
        "Each party's total liability in each Contract Year shall not exceed the Charges.",
        // The name is the subject of a relative clause the amount opens.
        "The most we will ever owe you in total is the price you paid us.",
        "The price the Customer will pay is set out in the Order.",
    ] {
        assert!(
            obligations(text).is_empty(),
            "{text}: {:?}",
            obligations(text)
        );
    }
    // What still binds: a duty worded as a passive of being bound, being responsible
    // for doing, and a party after a clause that names no preposition.
    for text in [
        "The Contractor shall be required to obtain every permit.",
        "The Supplier shall be responsible for obtaining every permit.",
        "Upon termination, the Customer shall return all materials.",
    ] {
        assert_eq!(obligations(text).len(), 1, "{text}");
    }
}

#[test]
fn a_pronoun_after_a_clause_of_condition_binds_the_clauses_subject() {
    let found = obligations(
        "If the Customer disputes an invoice, it shall notify the Supplier within 10 days of receipt. \
         (b) Where the Supplier uses a subcontractor, it must not disclose Customer Data. \
         In the event that the Parties fail to agree, they shall refer the dispute to mediation. \
         Should Acme Logistics Ltd miss a delivery, then it will credit the fee. \
         If the Supplier appoints a subcontractor, it shall be responsible for its acts. \
         If the Customer requests additional services, it shall pay for them at the rates.",
    );
    let read: Vec<(&str, bool)> = found
        .iter()
        .map(|o| (o.party.as_str(), o.prohibition))
        .collect();
    assert_eq!(
        read,
        [
            ("the Customer", false),
            ("the Supplier", true),
            ("the Parties", false),
            ("Acme Logistics Ltd", false),
            ("the Supplier", false),
            ("the Customer", false),
        ]
    );
    assert!(found[0].action.starts_with("notify the Supplier"));
    assert_eq!(found[0].due.as_ref().unwrap().within_days, Some(10));
    assert!(found[0].passage.starts_with("If the Customer disputes"));
    // No antecedent in the sentence, one that is the contract, a passive, a
    // pronoun that cannot stand for several, or a second clause before it.
    for text in [
        "Upon the Customer's request, it shall provide a report.",
        "It shall also install the Goods.",
        "If the Agreement terminates, it shall cease to apply.",
        "If the Goods are damaged, they shall be replaced.",
        "If the Parties agree, it shall be recorded in writing.",
        "If the Parties fail to agree, it shall refer the dispute to mediation.",
        "If the Customer fails to pay, the Supplier may suspend, and it shall notify the bank.",
        "If any invoice is late, it shall bear interest.",
        "If the Customer is late, it shall be the Supplier's right to suspend.",
        "Where the Supplier agrees, it will be sufficient to send an email.",
        // Asked by one party, the other acts.
        "If the Customer so requests, it shall provide a copy of the report.",
        "If the Customer asks the Supplier to attend, it shall attend in person.",
    ] {
        assert!(
            obligations(text).is_empty(),
            "{text}: {:?}",
            obligations(text)
        );
    }
}

#[test]
fn a_pronoun_opening_a_sentence_binds_the_party_of_the_sentence_before() {
    let found = obligations(
        "The Supplier shall deliver the Goods by March 1, 2027. It shall also install them within 10 days. \
         Furthermore, it shall train the staff. \
         If the Customer disputes an invoice, it shall give notice. It shall pay the undisputed part. \
         The Parties shall meet monthly. They shall keep minutes of each meeting.",
    );
    assert_eq!(
        parties_and_actions(&found),
        [
            ("The Supplier", "deliver the Goods by March 1, 2027"),
            ("The Supplier", "also install them within 10 days"),
            ("The Supplier", "train the staff"),
            ("the Customer", "give notice"),
            ("the Customer", "pay the undisputed part"),
            ("The Parties", "meet monthly"),
            ("The Parties", "keep minutes of each meeting"),
        ]
    );
    assert_eq!(
        found[1].passage,
        "It shall also install them within 10 days."
    );
    assert_eq!(found[1].due.as_ref().unwrap().within_days, Some(10));
}

#[test]
fn a_pronoun_that_may_stand_for_a_thing_or_another_party_binds_no_one() {
    for text in [
        // A thing does it, or the sentence before speaks of a thing.
        "The Supplier shall deliver the Software. It shall run on the Customer's servers.",
        "The Supplier shall provide a monthly report. It shall include the uptime figures.",
        "The Supplier shall deliver the Goods. They shall be new.",
        "The Supplier shall deliver the Goods. They shall conform to the Specification.",
        // Another party or someone else who acts is named before it.
        "The Customer shall pay the fees. The Supplier shall deliver the Goods to the Customer. It shall inspect them.",
        "The Supplier shall appoint a subcontractor. It shall attend the Site daily.",
        "The Supplier shall appoint a project manager. He shall attend the meetings.",
        // The sentence before binds no one, or binds two, or a sentence lies between.
        "The Supplier is a company registered in England. It shall deliver the Goods.",
        "The Supplier shall deliver and the Customer shall pay. It shall keep records.",
        "The Supplier shall deliver the Goods. The Goods are fragile. It shall insure them.",
        // The pronoun does not open its sentence.
        "The Supplier shall deliver the Goods. Upon request, it shall install them.",
    ] {
        // What the sentences that name their party bind is read as before.
        let by_pronoun = obligations(text).into_iter().find(|o| {
            ["It ", "They ", "He ", "Upon "]
                .iter()
                .any(|opening| o.passage.starts_with(opening))
        });
        assert_eq!(by_pronoun, None, "{text}");
    }
}

#[test]
fn hostile_text_is_bounded_and_offsets_are_characters() {
    let mut text = "😀 ".repeat(10_000);
    text.push_str("Customer shall pay within 2 weeks. ");
    text.push_str(&"Customer shall ".repeat(100_000));
    let started = std::time::Instant::now();
    let found = obligations(&text);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(found.len() <= MAX_OBLIGATIONS);
    assert_eq!(found[0].due.as_ref().unwrap().within_days, Some(14));
    let chars: Vec<char> = text.chars().collect();
    let at: String = chars[found[0].start_char..found[0].end_char]
        .iter()
        .collect();
    assert_eq!(at.trim(), found[0].passage);
}

#[test]
fn a_long_chain_of_pronouns_is_read_in_bounded_time() {
    let mut text = "The Supplier shall deliver the Goods. ".to_owned();
    text.push_str(&"It shall also pay the fee. ".repeat(100_000));
    let started = std::time::Instant::now();
    let found = obligations(&text);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(found.len(), MAX_OBLIGATIONS);
    assert!(found.iter().all(|o| o.party == "The Supplier"));
}
