//! The dependency audit, offline: what `cargo metadata` knows of every package this
//! workspace builds on this platform, checked for what cargo-deny's `licenses`, `bans`
//! and `sources` checks would refuse. Every licence expression must be satisfiable with
//! the permissive licences below; every package comes from crates.io or the workspace;
//! and no crate is built in two versions unless it is listed here with the reason.
//! Advisories need a database from the network, which this project may not fetch.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Licences a dependency may be used under (SPDX identifiers).
const ALLOWED_LICENSES: [&str; 12] = [
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "0BSD",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "Unlicense",
    "CC0-1.0",
    "BSL-1.0",
];

/// Crates built in more than one version, each because the crates that pull them in
/// (`cargo tree -d`) have not all moved to the same major yet. A new duplicate fails the audit; so does a listed
/// one that is no longer duplicated, so the list stays true.
const DUPLICATES_ALLOWED: [(&str, &str); 25] = [
    (
        "base64",
        "0.22 for jsonwebtoken and postgres-protocol, 0.23 for lettre and reqwest",
    ),
    ("block-buffer", "under digest's two generations"),
    ("const-oid", "under digest's two generations"),
    ("cpufeatures", "sha2 0.10 and 0.11; argon2 on the newer"),
    ("crypto-common", "under digest's two generations"),
    (
        "digest",
        "RustCrypto 0.10 (jsonwebtoken, lopdf) and 0.11 (postgres-protocol, argon2)",
    ),
    (
        "fancy-regex",
        "0.14 in tokenizers (the embedding model's), 0.17 for the rest",
    ),
    (
        "getrandom",
        "ring and rand 0.8 on 0.2, governor on 0.3, uuid and rand 0.10 on 0.4",
    ),
    (
        "hashbrown",
        "dashmap, governor and indexmap each on their own",
    ),
    (
        "hmac",
        "0.12 with jsonwebtoken (and ours), 0.13 in postgres-protocol",
    ),
    (
        "http",
        "0.2 inside actix-web 4, 1.x under reqwest and hyper",
    ),
    ("itertools", "0.14 in tokenizers, 0.15 for the rest"),
    ("md-5", "0.10 in lopdf, 0.11 in postgres-protocol"),
    ("nom", "7 in tokenizers' spm_precompiled, 8 for the rest"),
    ("phf", "cron 0.11, chrono-tz 0.12, tokio-postgres 0.13"),
    ("phf_shared", "as phf"),
    (
        "rand",
        "0.8 with jsonwebtoken's RSA (and ours), 0.9 in governor, 0.10 for uuid",
    ),
    ("rand_chacha", "as rand"),
    ("rand_core", "as rand"),
    (
        "sha2",
        "0.10 with jsonwebtoken and lopdf (and ours), 0.11 in postgres-protocol",
    ),
    (
        "spin",
        "0.9 under lazy_static (jsonwebtoken's rsa), 0.10 under crc-fast (object_store's S3 checksums)",
    ),
    (
        "syn",
        "proc macros on syn 2 (tracing, refinery) and on syn 3 (actix, clap)",
    ),
    ("typed-path", "as zip"),
    ("winnow", "0.7 in cron, 1.x in toml"),
    (
        "zip",
        "7 in candle-core (the embedding model's), 9 for reading DOCX",
    ),
];

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The packages resolved for this platform (the metadata of other platforms' crates
/// would need downloads).
fn packages() -> Vec<Value> {
    let version = cargo().arg("-vV").output().expect("cargo runs");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let host = version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("cargo -vV names the host");
    let output = cargo()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", host])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let by_id: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| (package["id"].as_str().unwrap(), package))
        .collect();
    metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| by_id[node["id"].as_str().unwrap()].clone())
        .collect()
}

/// Whether an SPDX licence expression (`A OR B`, `A AND B`, `A WITH exception`,
/// parentheses, and the older `A/B` for OR) can be met with `allowed`.
fn license_allows(expression: &str, allowed: &[&str]) -> Result<bool, String> {
    let spaced = expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut at = 0;
    let result = any_of(&tokens, &mut at, allowed)?;
    if at != tokens.len() {
        return Err(format!("unexpected {:?} in {expression:?}", tokens[at]));
    }
    Ok(result)
}

fn any_of(tokens: &[&str], at: &mut usize, allowed: &[&str]) -> Result<bool, String> {
    let mut result = all_of(tokens, at, allowed)?;
    while tokens.get(*at) == Some(&"OR") {
        *at += 1;
        result |= all_of(tokens, at, allowed)?;
    }
    Ok(result)
}

fn all_of(tokens: &[&str], at: &mut usize, allowed: &[&str]) -> Result<bool, String> {
    let mut result = one(tokens, at, allowed)?;
    while tokens.get(*at) == Some(&"AND") {
        *at += 1;
        result &= one(tokens, at, allowed)?;
    }
    Ok(result)
}

fn one(tokens: &[&str], at: &mut usize, allowed: &[&str]) -> Result<bool, String> {
    let token = *tokens.get(*at).ok_or("an expression ends early")?;
    *at += 1;
    if token == "(" {
        let inner = any_of(tokens, at, allowed)?;
        if tokens.get(*at) != Some(&")") {
            return Err("an unclosed parenthesis".into());
        }
        *at += 1;
        return Ok(inner);
    }
    if ["OR", "AND", "WITH", ")"].contains(&token) {
        return Err(format!("{token} where a licence was expected"));
    }
    if tokens.get(*at) == Some(&"WITH") {
        // An exception only widens what the licence allows.
        *at += 2;
    }
    Ok(allowed.contains(&token))
}

#[test]
fn the_licence_reader_follows_spdx_precedence() {
    let allowed = ["MIT", "Apache-2.0"];
    for (expression, expected) in [
        ("MIT", true),
        ("GPL-3.0", false),
        ("GPL-3.0 OR MIT", true),
        ("MIT AND GPL-3.0", false),
        ("(MIT OR GPL-3.0) AND Apache-2.0", true),
        ("GPL-3.0 OR MIT AND GPL-2.0", false),
        ("Apache-2.0 WITH LLVM-exception OR GPL-3.0", true),
        ("MIT/Apache-2.0", true),
    ] {
        assert_eq!(
            license_allows(expression, &allowed),
            Ok(expected),
            "{expression}"
        );
    }
    assert!(license_allows("(MIT", &allowed).is_err());
    assert!(license_allows("MIT OR", &allowed).is_err());
}

/// What the audit refuses in `packages`, allowing the duplicates named in `duplicated`.
fn audit(packages: &[Value], duplicated: &[&str]) -> Vec<String> {
    let mut refused = Vec::new();
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let version = package["version"].as_str().unwrap();
        versions
            .entry(name.to_owned())
            .or_default()
            .insert(version.to_owned());
        let Some(source) = package["source"].as_str() else {
            continue; // the workspace's own crates
        };
        if !CRATES_IO.iter().any(|index| source.starts_with(index)) {
            refused.push(format!("{name} {version}: from {source}"));
        }
        match package["license"].as_str() {
            None => refused.push(format!("{name} {version}: no SPDX licence")),
            Some(expression) => match license_allows(expression, &ALLOWED_LICENSES) {
                Ok(true) => {}
                Ok(false) => refused.push(format!("{name} {version}: {expression}")),
                Err(why) => refused.push(format!("{name} {version}: {why}")),
            },
        }
    }
    for (name, built) in &versions {
        if built.len() > 1 && !duplicated.contains(&name.as_str()) {
            refused.push(format!("{name} in {} versions: {built:?}", built.len()));
        }
    }
    for name in duplicated {
        if versions.get(*name).is_none_or(|built| built.len() < 2) {
            refused.push(format!(
                "{name} is listed as duplicated but is built once: take it off the list"
            ));
        }
    }
    refused
}

/// Where crates.io's index is, as `cargo metadata` names a package's source.
const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

#[test]
fn every_dependency_is_permissively_licensed_from_crates_io_in_one_version() {
    let packages = packages();
    assert!(packages.len() > 100, "the metadata lists the whole tree");
    let duplicated: Vec<&str> = DUPLICATES_ALLOWED.iter().map(|(name, _)| *name).collect();
    let refused = audit(&packages, &duplicated);
    assert!(
        refused.is_empty(),
        "dependency audit:\n{}",
        refused.join("\n")
    );
}

#[test]
fn the_audit_refuses_a_copyleft_licence_a_git_source_and_a_new_duplicate() {
    let crates_io = CRATES_IO[0];
    let package = |name: &str, version: &str, license: Value, source: Value| serde_json::json!({"name": name, "version": version, "license": license, "source": source});
    let packages = [
        package("pactum", "0.1.0", Value::Null, Value::Null),
        package(
            "fine",
            "1.0.0",
            "MIT OR Apache-2.0".into(),
            crates_io.into(),
        ),
        package("copyleft", "1.0.0", "GPL-3.0-only".into(), crates_io.into()),
        package("unlabelled", "1.0.0", Value::Null, crates_io.into()),
        package(
            "forked",
            "1.0.0",
            "MIT".into(),
            "git+https://example.com/forked".into(),
        ),
        package("twice", "1.0.0", "MIT".into(), crates_io.into()),
        package("twice", "2.0.0", "MIT".into(), crates_io.into()),
    ];
    let refused = audit(&packages, &["gone"]);
    let expected = [
        "copyleft 1.0.0",
        "unlabelled 1.0.0",
        "forked 1.0.0: from git",
        "twice in 2",
        "gone is listed",
    ];
    assert_eq!(refused.len(), expected.len(), "{refused:#?}");
    for what in expected {
        assert!(
            refused.iter().any(|r| r.starts_with(what)),
            "{what}: {refused:#?}"
        );
    }
}
