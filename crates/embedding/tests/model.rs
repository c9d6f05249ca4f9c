//! The real model (installed by `scripts/model.sh` on first use): unit vectors of its
//! length, meaning over words, and the same text always the same vector.

use pactum_embedding::index::dot;
use pactum_embedding::{Embedder, DIMENSIONS};

fn model() -> Embedder {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/model.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .expect("running scripts/model.sh");
    assert!(
        out.status.success(),
        "scripts/model.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = String::from_utf8(out.stdout).unwrap();
    Embedder::load(std::path::Path::new(dir.trim())).unwrap()
}

#[test]
fn a_query_finds_the_clause_that_means_it_without_sharing_a_word() {
    let model = model();
    assert!(model
        .identity()
        .starts_with("all-MiniLM-L6-v2@53aa51172d142c89"));
    // The quick start's demo contracts.
    let clauses = [
        "Initech provides managed hosting services. Payment is due within 30 days of invoice. Liability is limited to the fees paid in the preceding twelve months.",
        "Each party keeps the other party's confidential information secret for three years.",
        "Initech migrates the contract archive to Pactum in three phases.",
    ];
    let vectors = model.embed(&clauses).unwrap();
    for v in &vectors {
        assert_eq!(v.len(), DIMENSIONS);
        assert!((dot(v, v) - 1.0).abs() < 1e-4, "unit length");
    }
    let closest = |query: &str| {
        let q = &model.embed(&[query]).unwrap()[0];
        (0..clauses.len())
            .max_by(|a, b| dot(q, &vectors[*a]).total_cmp(&dot(q, &vectors[*b])))
            .unwrap()
    };
    assert_eq!(closest("the most we would owe after an outage"), 0);
    assert_eq!(closest("what is the cap on damages"), 0);
    assert_eq!(closest("must we stay quiet about what they tell us"), 1);
    assert_eq!(closest("moving old documents into the new system"), 2);
    let again = model.embed(&[clauses[1]]).unwrap();
    assert!(
        (dot(&again[0], &vectors[1]) - 1.0).abs() < 1e-5,
        "deterministic"
    );
}

#[test]
fn hostile_text_is_embedded_within_bounds() {
    let model = model();
    let huge = "indemnity ".repeat(100_000);
    let odd = "\u{0}\u{202e}\u{feff}\u{1F4A9}ﷺ".repeat(1000);
    let vectors = model.embed(&[huge.as_str(), odd.as_str(), ""]).unwrap();
    assert!(vectors
        .iter()
        .all(|v| v.len() == DIMENSIONS && v.iter().all(|x| x.is_finite())));
}
