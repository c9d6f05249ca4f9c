//! The labelled evaluation set stays whole: big and varied enough to measure, every
//! label parsed and pointing at words its contract really has, every judged query's
//! contracts in the set; and the measures `scripts/eval-intelligence.sh` prints mean
//! what they say. Pure: no server.

// The evaluation program uses the parts these tests leave alone.
#[allow(dead_code)]
#[path = "../../../benches/eval/set.rs"]
mod set;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;
use set::{Counts, Set, Split};

fn load() -> Set {
    Set::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/intelligence"))
        .unwrap_or_else(|e| panic!("the evaluation set is malformed: {e}"))
}

#[test]
fn the_set_is_large_varied_and_has_a_held_out_part() {
    let set = load();
    assert!(
        set.contracts.len() >= 60,
        "{} contracts",
        set.contracts.len()
    );
    assert!(set.queries.len() >= 100, "{} queries", set.queries.len());
    let held_out = set
        .contracts
        .iter()
        .filter(|c| c.split == Split::Heldout)
        .count();
    assert!(held_out >= 20, "{held_out} held-out contracts");
    let held_out_queries = set
        .queries
        .iter()
        .filter(|q| q.split == Split::Heldout)
        .count();
    assert!(
        held_out_queries >= 40,
        "{held_out_queries} held-out queries"
    );
    let styles: BTreeSet<_> = set.contracts.iter().map(|c| c.style.as_str()).collect();
    assert!(styles.len() >= 50, "{} distinct styles", styles.len());
    let library: BTreeSet<_> = set.library.iter().map(|c| c.category.as_str()).collect();
    assert_eq!(
        library,
        set::categories().collect(),
        "one standard clause per category"
    );
}

#[test]
fn every_label_points_at_words_its_contract_has() {
    let set = load();
    let keys: BTreeSet<_> = set.contracts.iter().map(|c| c.key.as_str()).collect();
    for contract in &set.contracts {
        let text = set::normal(&contract.text);
        assert!(!contract.parties.is_empty(), "{}: no party", contract.key);
        assert!(
            !contract.categories.is_empty(),
            "{}: no category",
            contract.key
        );
        for said in contract.parties.iter().chain(&contract.obligations) {
            assert!(
                text.contains(&set::normal(said)),
                "{}: {said:?} is not in its text",
                contract.key
            );
        }
        let fragments: BTreeSet<_> = contract.obligations.iter().collect();
        assert_eq!(
            fragments.len(),
            contract.obligations.len(),
            "{}: a fragment twice",
            contract.key
        );
    }
    for query in &set.queries {
        for key in &query.relevant {
            assert!(
                keys.contains(key.as_str()),
                "{:?} judges {key}, not in the set",
                query.text
            );
        }
    }
}

#[test]
fn contracts_in_german_french_and_spanish_have_both_parts_with_obligations() {
    let set = load();
    for language in ["de", "fr", "es"] {
        for split in Split::ALL {
            let count = set
                .contracts
                .iter()
                .filter(|c| c.language == language && c.split == split)
                .count();
            assert!(count >= 3, "{count} {language} contracts in {split:?}");
            let obligations: usize = set
                .contracts
                .iter()
                .filter(|c| c.language == language && c.split == split)
                .map(|c| c.obligations.len())
                .sum();
            assert!(
                obligations >= 5,
                "{obligations} {language} obligations labelled in {split:?}"
            );
        }
    }
}

#[test]
fn a_malformed_label_is_refused_with_its_reason() {
    let dir = std::env::temp_dir().join(format!("pactum-eval-set-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("contracts")).unwrap();
    std::fs::write(dir.join("queries.txt"), "dev | q | c01\n").unwrap();
    std::fs::write(dir.join("library.txt"), "payment | t | b\n").unwrap();
    for (label, reason) in [
        ("categories: payments", "is not a clause category"),
        ("effective_date: 1 May 2025", "is not YYYY-MM-DD"),
        ("value: 12 dollars", "is not `AMOUNT CUR`"),
        ("term: 12", "unknown label"),
        ("language: klingon", "unknown label"),
    ] {
        std::fs::write(
            dir.join("contracts/c01.txt"),
            format!("split: dev\n{label}\n---\nText.\n"),
        )
        .unwrap();
        let error = Set::load(&dir).unwrap_err();
        assert!(
            error.starts_with("c01: ") && error.contains(reason),
            "{label}: {error}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn search_measures_reward_relevant_contracts_ranked_first() {
    let relevant = ["c02".to_owned(), "c09".to_owned()];
    let ranked = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        set::ndcg_at(10, &ranked(&["c09", "c02", "c05"]), &relevant),
        1.0
    );
    let late = set::ndcg_at(10, &ranked(&["c05", "c09", "c02"]), &relevant);
    assert!(late < 1.0 && late > 0.5, "{late}");
    assert_eq!(set::recall_at(10, &ranked(&["c05", "c09"]), &relevant), 0.5);
    assert_eq!(set::recall_at(1, &ranked(&["c05", "c09"]), &relevant), 0.0);
}

#[test]
fn a_field_counts_right_wrong_and_missing_values() {
    let right = set::score_field("payment_terms_days", Some(&json!(30)), Some(&json!(30)));
    assert_eq!((right.found, right.wrong, right.missed), (1, 0, 0));
    let wrong = set::score_field("payment_terms_days", Some(&json!(30)), Some(&json!(45)));
    assert_eq!((wrong.found, wrong.wrong, wrong.missed), (0, 1, 1));
    let unasked = set::score_field("end_date", None, Some(&json!("2025-01-01")));
    assert_eq!((unasked.found, unasked.wrong, unasked.missed), (0, 1, 0));
    let not_renewing = set::score_field("auto_renew", None, Some(&json!(false)));
    assert_eq!(not_renewing, Counts::default(), "false says nothing");
    assert!(set::same(
        "value",
        &json!({"amount": "120000", "currency": "USD"}),
        &json!({"amount": "120000.00", "currency": "USD"})
    ));
    for (label, found) in [
        ("State of New York", "the laws of the State of New York"),
        ("England and Wales", "England"),
        ("Federal Republic of Germany", "Germany"),
        ("Scotland", "Scots law"),
    ] {
        assert!(
            set::same("governing_law", &json!(label), &json!(found)),
            "{label} / {found}"
        );
    }
    assert!(!set::same(
        "governing_law",
        &json!("State of New York"),
        &json!("State of")
    ));
    assert!(!set::same(
        "governing_law",
        &json!("Ireland"),
        &json!("Northern Territory")
    ));
}

#[test]
fn parties_and_obligations_match_by_their_words() {
    let parties = set::score_parties(
        &["Acme Corp.".into(), "Globex Ltd".into()],
        &["ACME".into(), "Initech".into()],
    );
    assert_eq!((parties.found, parties.wrong, parties.missed), (1, 1, 1));
    let obligations = set::score_obligations(
        &["The Tenant shall pay".into(), "Landlord will repair".into()],
        &[
            "The Tenant shall pay the rent monthly.".into(),
            "This Lease is governed by law.".into(),
        ],
    );
    assert_eq!(
        (obligations.found, obligations.wrong, obligations.missed),
        (1, 1, 1)
    );
    assert_eq!(obligations.precision(), Some(0.5));
}
