//! The quality of contract intelligence on the labelled set in `eval/intelligence/`,
//! measured through a running server, driven by `scripts/eval-intelligence.sh`:
//!
//!   eval_intelligence URL HOST TOKEN
//!
//! It keeps the set's standard clauses in the tenant's library, creates every contract
//! with its text and no fields filled, waits (by `DATABASE_URL`) until the
//! intelligence jobs are done, then reads what the server says: the open suggestions
//! (metadata), the classification (clause categories), the obligations, and the
//! contract search for every query in each mode. It prints precision, recall and F1 per
//! field and per category, the obligations', and recall@10 and nDCG@10 per mode, each
//! for the tuning part and the held-out part apart, and the contracts written in
//! German, French and Spanish apart from the English ones.

#[path = "eval/server.rs"]
mod server;
#[path = "eval/set.rs"]
mod set;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::{json, Value};
use server::{settled, Server};
use set::{Counts, Set, Split, FIELDS};

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn cell(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

/// The categories a classified passage is placed in: its own and its secondary ones.
fn placements(passage: &Value) -> impl Iterator<Item = String> + '_ {
    std::iter::once(&passage["category"])
        .chain(
            passage["secondary"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| &s["category"]),
        )
        .filter_map(|c| c.as_str().map(str::to_owned))
}

fn row(name: &str, counts: Counts) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} |",
        cell(counts.precision()),
        cell(counts.recall()),
        cell(counts.f1()),
        counts.found,
        counts.wrong,
        counts.missed
    )
}

const HEADER: &str =
    "| | precision | recall | F1 | found | wrong | missed |\n|---|---|---|---|---|---|---|";

#[derive(Default)]
struct Scores {
    fields: BTreeMap<&'static str, Counts>,
    categories: BTreeMap<&'static str, Counts>,
    obligations: Counts,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, host, token] = &args[..] else {
        eprintln!("usage: eval_intelligence URL HOST TOKEN (and DATABASE_URL)");
        std::process::exit(2);
    };
    let database_url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set");
    // EVAL_SHOW=dev lists each mistake on the tuning part (never on the held-out part:
    // looking at it would make it tuning data).
    let show = std::env::var("EVAL_SHOW")
        .ok()
        .filter(|s| s == "dev")
        .map(|_| Split::Dev);
    let set = Set::load(Path::new("eval/intelligence")).unwrap_or_else(|e| panic!("{e}"));
    let server = Server::new(url, host, token);

    for clause in &set.library {
        server
            .post(
                "/api/v1/clauses",
                json!({"title": clause.title, "category": clause.category, "body": clause.body}),
            )
            .await;
    }
    let mut ids = HashMap::new();
    let mut keys = HashMap::new();
    for contract in &set.contracts {
        let created = server
            .post(
                "/api/v1/contracts",
                json!({"title": contract.kind, "contract_type": "msa", "body": contract.text}),
            )
            .await;
        let id = created["id"]
            .as_str()
            .expect("a created contract has an id")
            .to_owned();
        keys.insert(id.clone(), contract.key.clone());
        ids.insert(contract.key.clone(), id);
    }
    eprintln!(
        "{} contracts and {} library clauses created; waiting for the jobs",
        set.contracts.len(),
        set.library.len()
    );
    settled(&database_url).await;

    let mut scores: BTreeMap<Split, Scores> = BTreeMap::new();
    let mut parties: BTreeMap<Split, Counts> = BTreeMap::new();
    // Contracts in other languages, by split and language, scored apart.
    let mut other: BTreeMap<(Split, &str), Scores> = BTreeMap::new();
    let mut other_parties: BTreeMap<(Split, &str), Counts> = BTreeMap::new();
    for contract in &set.contracts {
        let id = &ids[&contract.key];
        let english = contract.language == "en";
        let split = if english {
            scores.entry(contract.split).or_default()
        } else {
            other
                .entry((contract.split, contract.language.as_str()))
                .or_default()
        };
        let suggestions = server
            .get(&format!("/api/v1/contracts/{id}/suggestions?status=open"))
            .await;
        let suggested = |field: &str| {
            suggestions
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["field"] == field)
                .map(|s| s["value"].clone())
        };
        for field in FIELDS {
            let counts =
                set::score_field(field, contract.fields.get(field), suggested(field).as_ref());
            if show == Some(contract.split) && counts.found == 0 && counts != Counts::default() {
                eprintln!(
                    "{} {field}: labelled {}, suggested {}",
                    contract.key,
                    contract.fields.get(field).unwrap_or(&Value::Null),
                    suggested(field).unwrap_or(Value::Null)
                );
            }
            split.fields.entry(field).or_default().add(counts);
        }
        let named: Vec<String> = suggested("parties")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        let counts = set::score_parties(&contract.parties, &named);
        if show == Some(contract.split) && (counts.wrong > 0 || counts.missed > 0) {
            eprintln!(
                "{} parties: labelled {:?}, suggested {named:?}",
                contract.key, contract.parties
            );
        }
        if english {
            parties.entry(contract.split).or_default().add(counts);
        } else {
            other_parties
                .entry((contract.split, contract.language.as_str()))
                .or_default()
                .add(counts);
        }

        let classification = server
            .get(&format!("/api/v1/contracts/{id}/classification"))
            .await;
        let placed: BTreeSet<String> = classification["passages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(placements)
            .collect();
        for category in set::categories() {
            let (labelled, found) = (
                contract.categories.contains(category),
                placed.contains(category),
            );
            let counts = Counts {
                found: u32::from(labelled && found),
                wrong: u32::from(!labelled && found),
                missed: u32::from(labelled && !found),
            };
            if show == Some(contract.split) && counts.wrong > 0 {
                for passage in classification["passages"].as_array().into_iter().flatten() {
                    if placements(passage).any(|placed| placed == *category) {
                        eprintln!(
                            "{} category {category} wrong, by {} ({}): {:?}",
                            contract.key,
                            passage["method"],
                            passage["confidence"],
                            passage["text"].as_str().unwrap_or_default(),
                        );
                    }
                }
            }
            if show == Some(contract.split) && counts.missed > 0 {
                eprintln!("{} category {category} missed", contract.key);
            }
            split.categories.entry(category).or_default().add(counts);
        }

        let obligations = server
            .get(&format!("/api/v1/contracts/{id}/obligations"))
            .await;
        let passages: Vec<String> = obligations["obligations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["passage"].as_str().map(str::to_owned))
            .collect();
        let counts = set::score_obligations(&contract.obligations, &passages);
        if show == Some(contract.split) && (counts.wrong > 0 || counts.missed > 0) {
            for fragment in &contract.obligations {
                let fragment_words = set::normal(fragment);
                if !passages
                    .iter()
                    .any(|p| set::normal(p).contains(&fragment_words))
                {
                    eprintln!("{} obligation missed: {fragment:?}", contract.key);
                }
            }
            let labelled: Vec<String> = contract
                .obligations
                .iter()
                .map(|f| set::normal(f))
                .collect();
            for passage in &passages {
                let words = set::normal(passage);
                if !labelled.iter().any(|f| words.contains(f.as_str())) {
                    eprintln!("{} obligation wrong: {passage:?}", contract.key);
                }
            }
        }
        split.obligations.add(counts);
    }

    let modes = ["text", "semantic", "hybrid"];
    // split -> mode -> (recall@10 sum, nDCG@10 sum, queries)
    let mut search: BTreeMap<Split, BTreeMap<&str, (f64, f64, u32)>> = BTreeMap::new();
    for query in &set.queries {
        for mode in modes {
            let found = server
                .get(&format!(
                    "/api/v1/search/contracts?q={}&mode={mode}&limit=10",
                    encode(&query.text)
                ))
                .await;
            let ranked: Vec<String> = found["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item["contract"]["id"].as_str())
                .filter_map(|id| keys.get(id).cloned())
                .collect();
            let entry = search
                .entry(query.split)
                .or_default()
                .entry(mode)
                .or_default();
            entry.0 += set::recall_at(10, &ranked, &query.relevant);
            entry.1 += set::ndcg_at(10, &ranked, &query.relevant);
            entry.2 += 1;
        }
    }

    for split in Split::ALL {
        let contracts = set.contracts.iter().filter(|c| c.split == split).count();
        let queries = set.queries.iter().filter(|q| q.split == split).count();
        let Some(scores) = scores.get(&split) else {
            continue;
        };
        println!(
            "\n## {} part: {contracts} contracts, {queries} queries\n",
            split.as_str()
        );
        println!("### Metadata (suggestions)\n\n{HEADER}");
        println!("{}", row("parties", parties[&split]));
        let mut all = parties[&split];
        for (field, counts) in &scores.fields {
            println!("{}", row(field, *counts));
            all.add(*counts);
        }
        println!("{}", row("**all fields**", all));
        println!("\n### Clause categories (classification)\n\n{HEADER}");
        let mut all = Counts::default();
        for (category, counts) in &scores.categories {
            println!("{}", row(category, *counts));
            all.add(*counts);
        }
        println!("{}", row("**all categories**", all));
        println!("\n### Obligations\n\n{HEADER}");
        println!("{}", row("obligations", scores.obligations));
        println!("\n### Contract search\n\n| mode | recall@10 | nDCG@10 |\n|---|---|---|");
        for mode in modes {
            let (recall, ndcg, n) = search[&split][mode];
            let n = f64::from(n);
            println!("| {mode} | {:.3} | {:.3} |", recall / n, ndcg / n);
        }
        print_other_languages(split, &set, &other, &other_parties);
    }
}

/// What was read from the contracts of one part written in German, French and
/// Spanish: terms and clause categories per field or category over the three and in
/// all per language, and obligations per language.
fn print_other_languages(
    split: Split,
    set: &Set,
    scores: &BTreeMap<(Split, &str), Scores>,
    parties: &BTreeMap<(Split, &str), Counts>,
) {
    let languages: Vec<&str> = set::LANGUAGES
        .into_iter()
        .filter(|l| *l != "en" && scores.contains_key(&(split, *l)))
        .collect();
    if languages.is_empty() {
        return;
    }
    let contracts = set
        .contracts
        .iter()
        .filter(|c| c.split == split && c.language != "en")
        .count();
    println!(
        "\n### Terms in other languages ({}): {contracts} contracts\n\n{HEADER}",
        languages.join(", ")
    );
    let mut by_field: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut by_language: BTreeMap<&str, Counts> = BTreeMap::new();
    for language in &languages {
        let key = (split, *language);
        let named = parties.get(&key).copied().unwrap_or_default();
        by_field.entry("parties").or_default().add(named);
        by_language.entry(language).or_default().add(named);
        for (field, counts) in &scores[&key].fields {
            by_field.entry(field).or_default().add(*counts);
            by_language.entry(language).or_default().add(*counts);
        }
    }
    print_totals("fields", &by_field, &by_language);

    println!("\n### Clause categories in other languages\n\n{HEADER}");
    let mut by_category: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut by_language: BTreeMap<&str, Counts> = BTreeMap::new();
    for language in &languages {
        for (category, counts) in &scores[&(split, *language)].categories {
            by_category.entry(category).or_default().add(*counts);
            by_language.entry(language).or_default().add(*counts);
        }
    }
    print_totals("categories", &by_category, &by_language);

    println!("\n### Obligations in other languages\n\n{HEADER}");
    let mut all = Counts::default();
    for language in &languages {
        let counts = scores[&(split, *language)].obligations;
        println!("{}", row(&format!("obligations, `{language}`"), counts));
        all.add(counts);
    }
    println!("{}", row("**all obligations**", all));
}

/// A row per field or category, their sum, and the sum per language.
fn print_totals(what: &str, by_key: &BTreeMap<&str, Counts>, by_language: &BTreeMap<&str, Counts>) {
    let mut all = Counts::default();
    for (key, counts) in by_key {
        println!("{}", row(key, *counts));
        all.add(*counts);
    }
    println!("{}", row(&format!("**all {what}**"), all));
    for (language, counts) in by_language {
        println!("{}", row(&format!("all {what}, `{language}`"), *counts));
    }
}
