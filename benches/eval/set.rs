//! The labelled evaluation set of contract intelligence (`eval/intelligence/`, its
//! labelling guide in `eval/intelligence/README.md`): the parser and the measures,
//! shared by the evaluation program (`benches/eval_intelligence.rs`) and the tests that
//! keep the set whole (`tests/api/eval_set.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use pactum::contracts::model::CLAUSE_CATEGORIES;
use serde_json::{json, Value};

/// The clause categories labelled: the library's, but `other`, which is never a label.
pub fn categories() -> impl Iterator<Item = &'static str> {
    CLAUSE_CATEGORIES.into_iter().filter(|c| *c != "other")
}

/// The metadata fields labelled, as the suggestions name them (parties apart).
pub const FIELDS: [&str; 8] = [
    "effective_date",
    "end_date",
    "term_months",
    "auto_renew",
    "renewal_notice_days",
    "value",
    "governing_law",
    "payment_terms_days",
];

/// The languages a contract of the set is written in.
pub const LANGUAGES: [&str; 4] = ["en", "de", "fr", "es"];

/// Tuning may look at `Dev`; `Heldout` is measured, never tuned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Split {
    Dev,
    Heldout,
}

impl Split {
    pub const ALL: [Split; 2] = [Split::Dev, Split::Heldout];

    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "dev" => Ok(Self::Dev),
            "heldout" => Ok(Self::Heldout),
            other => Err(format!("split {other:?} is not dev or heldout")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Heldout => "held-out",
        }
    }
}

/// One contract of the set with what a reader should find in it.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The file's name without `.txt`, e.g. `c07`.
    pub key: String,
    pub split: Split,
    pub kind: String,
    pub style: String,
    /// The language the contract is written in: `en`, `de`, `fr` or `es`.
    pub language: String,
    pub parties: Vec<String>,
    /// Each labelled field's value in the form the suggestions give it.
    pub fields: BTreeMap<&'static str, Value>,
    pub categories: BTreeSet<String>,
    /// A fragment of each sentence that binds a party, as written in the text.
    pub obligations: Vec<String>,
    pub text: String,
}

/// A search query with every contract judged to answer it.
#[derive(Debug, Clone)]
pub struct Query {
    pub split: Split,
    pub text: String,
    pub relevant: Vec<String>,
}

/// A standard clause of the evaluated tenant's library.
#[derive(Debug, Clone)]
pub struct LibraryClause {
    pub category: String,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Set {
    pub contracts: Vec<Labelled>,
    pub queries: Vec<Query>,
    pub library: Vec<LibraryClause>,
}

impl Set {
    /// Reads the set from `dir` (`eval/intelligence`); any malformed label is an error
    /// naming its file and line.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut contracts = Vec::new();
        let mut names: Vec<_> = fs::read_dir(dir.join("contracts"))
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "txt"))
            .collect();
        names.sort();
        for path in names {
            let key = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| format!("{}: not a UTF-8 name", path.display()))?
                .to_owned();
            let source = fs::read_to_string(&path).map_err(|e| format!("{key}: {e}"))?;
            contracts.push(parse_contract(&key, &source).map_err(|e| format!("{key}: {e}"))?);
        }
        let read =
            |name: &str| fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"));
        let queries = lines(&read("queries.txt")?)
            .map(|(n, line)| parse_query(line).map_err(|e| format!("queries.txt:{n}: {e}")))
            .collect::<Result<_, _>>()?;
        let library = lines(&read("library.txt")?)
            .map(
                |(n, line)| match line.splitn(3, " | ").collect::<Vec<_>>()[..] {
                    [category, title, body] => Ok(LibraryClause {
                        category: category.to_owned(),
                        title: title.to_owned(),
                        body: body.to_owned(),
                    }),
                    _ => Err(format!("library.txt:{n}: not `category | title | text`")),
                },
            )
            .collect::<Result<_, _>>()?;
        Ok(Self {
            contracts,
            queries,
            library,
        })
    }
}

/// The lines that are neither blank nor comments, numbered from 1.
fn lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

fn parse_query(line: &str) -> Result<Query, String> {
    let [split, text, relevant] = line.splitn(3, " | ").collect::<Vec<_>>()[..] else {
        return Err("not `split | query | relevant keys`".into());
    };
    let relevant: Vec<String> = relevant.split_whitespace().map(str::to_owned).collect();
    if relevant.is_empty() {
        return Err("no relevant contract".into());
    }
    Ok(Query {
        split: Split::parse(split)?,
        text: text.to_owned(),
        relevant,
    })
}

fn parse_contract(key: &str, source: &str) -> Result<Labelled, String> {
    let (header, text) = source
        .split_once("\n---\n")
        .ok_or("no `---` line between the labels and the text")?;
    let mut labelled = Labelled {
        key: key.to_owned(),
        split: Split::Dev,
        kind: String::new(),
        style: String::new(),
        language: "en".to_owned(),
        parties: Vec::new(),
        fields: BTreeMap::new(),
        categories: BTreeSet::new(),
        obligations: Vec::new(),
        text: text.trim().to_owned(),
    };
    let mut split = None;
    for line in header.lines().filter(|l| !l.trim().is_empty()) {
        let (name, value) = line
            .split_once(':')
            .map(|(n, v)| (n.trim(), v.trim()))
            .ok_or_else(|| format!("label line {line:?} is not `name: value`"))?;
        let list = |v: &str| -> Vec<String> {
            v.split(" | ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let number = |v: &str| -> Result<Value, String> {
            v.parse::<u32>()
                .map(|n| json!(n))
                .map_err(|_| format!("{name}: {v:?} is not a whole number"))
        };
        let date = |v: &str| -> Result<Value, String> {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|_| json!(v))
                .map_err(|_| format!("{name}: {v:?} is not YYYY-MM-DD"))
        };
        match name {
            "split" => split = Some(Split::parse(value)?),
            "kind" => labelled.kind = value.to_owned(),
            "style" => labelled.style = value.to_owned(),
            "language" if LANGUAGES.contains(&value) => labelled.language = value.to_owned(),
            "parties" => labelled.parties = list(value),
            "obligations" => labelled.obligations = list(value),
            "categories" => {
                for category in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    if !categories().any(|c| c == category) {
                        return Err(format!("{category:?} is not a clause category"));
                    }
                    if !labelled.categories.insert(category.to_owned()) {
                        return Err(format!("category {category:?} twice"));
                    }
                }
            }
            "effective_date" | "end_date" => {
                labelled.fields.insert(field_name(name), date(value)?);
            }
            "term_months" | "renewal_notice_days" | "payment_terms_days" => {
                labelled.fields.insert(field_name(name), number(value)?);
            }
            "auto_renew" if value == "true" => {
                labelled.fields.insert("auto_renew", json!(true));
            }
            "governing_law" => {
                labelled.fields.insert("governing_law", json!(value));
            }
            "value" => {
                let (amount, currency) = value
                    .split_once(' ')
                    .filter(|(a, c)| {
                        a.parse::<f64>().is_ok()
                            && c.len() == 3
                            && c.chars().all(|c| c.is_ascii_uppercase())
                    })
                    .ok_or_else(|| format!("value {value:?} is not `AMOUNT CUR`"))?;
                labelled.fields.insert(
                    "value",
                    json!({"amount": normal_amount(amount), "currency": currency}),
                );
            }
            other => return Err(format!("unknown label {other:?}")),
        }
    }
    labelled.split = split.ok_or("no split")?;
    Ok(labelled)
}

fn field_name(name: &str) -> &'static str {
    FIELDS
        .into_iter()
        .find(|f| *f == name)
        .expect("only labelled fields are named")
}

/// `"120000.00"`, `"120,000"` and `"120000"` as one amount.
pub fn normal_amount(amount: &str) -> String {
    let amount = amount.replace(',', "");
    match amount.split_once('.') {
        Some((whole, cents)) => match cents.trim_end_matches('0') {
            "" => whole.to_owned(),
            cents => format!("{whole}.{cents}"),
        },
        None => amount,
    }
}

/// Lower case, every run of characters other than letters and digits one space.
pub fn normal(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A jurisdiction without the words around its name ("the laws of the State of").
fn jurisdiction(text: &str) -> String {
    const AROUND: [&str; 10] = [
        "the",
        "laws",
        "law",
        "of",
        "state",
        "commonwealth",
        "province",
        "federal",
        "republic",
        "scots",
    ];
    let words: Vec<&str> = text.split(' ').collect();
    let start = words
        .iter()
        .position(|w| !AROUND.contains(w))
        .unwrap_or(words.len());
    let name = words[start..].join(" ");
    // "Scots law" names Scotland.
    if name.is_empty() && text.contains("scots") {
        return "scotland".into();
    }
    name
}

/// True positives, false positives and false negatives of one measure.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub found: u32,
    pub wrong: u32,
    pub missed: u32,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.found += other.found;
        self.wrong += other.wrong;
        self.missed += other.missed;
    }

    pub fn precision(self) -> Option<f64> {
        ratio(self.found, self.found + self.wrong)
    }

    pub fn recall(self) -> Option<f64> {
        ratio(self.found, self.found + self.missed)
    }

    pub fn f1(self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        Some(if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        })
    }
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// Whether a suggested value says what the label says: dates, numbers and amounts
/// exactly (amounts in their normal form), a jurisdiction by its name with the words
/// around it left out, one name containing the other ("England" for "England and
/// Wales" counts).
pub fn same(field: &str, expected: &Value, found: &Value) -> bool {
    match field {
        "value" => {
            found["currency"] == expected["currency"]
                && found["amount"]
                    .as_str()
                    .is_some_and(|a| normal_amount(a) == expected["amount"])
        }
        "governing_law" => {
            let (Some(expected), Some(found)) = (expected.as_str(), found.as_str()) else {
                return false;
            };
            let (expected, found) = (
                jurisdiction(&normal(expected)),
                jurisdiction(&normal(found)),
            );
            !expected.is_empty()
                && !found.is_empty()
                && (expected.contains(&found) || found.contains(&expected))
        }
        _ => expected == found,
    }
}

/// One field of one contract: a wrong value is both wrong and a miss.
pub fn score_field(field: &str, expected: Option<&Value>, found: Option<&Value>) -> Counts {
    // auto_renew false says nothing: the contract field's own "not renewing".
    let found = found.filter(|v| **v != json!(false));
    match (expected, found) {
        (Some(e), Some(f)) if same(field, e, f) => Counts {
            found: 1,
            ..Counts::default()
        },
        (Some(_), Some(_)) => Counts {
            wrong: 1,
            missed: 1,
            ..Counts::default()
        },
        (None, Some(_)) => Counts {
            wrong: 1,
            ..Counts::default()
        },
        (Some(_), None) => Counts {
            missed: 1,
            ..Counts::default()
        },
        (None, None) => Counts::default(),
    }
}

/// Named parties, each matched at most once, a name matching when one contains the
/// other once normalised ("Acme" for "Acme Corp.").
pub fn score_parties(expected: &[String], found: &[String]) -> Counts {
    let mut open: Vec<String> = expected.iter().map(|p| normal(p)).collect();
    let mut counts = Counts::default();
    for name in found.iter().map(|p| normal(p)).filter(|n| !n.is_empty()) {
        match open
            .iter()
            .position(|e| e.contains(&name) || name.contains(e.as_str()))
        {
            Some(at) => {
                open.swap_remove(at);
                counts.found += 1;
            }
            None => counts.wrong += 1,
        }
    }
    counts.missed = open.len() as u32;
    counts
}

/// Obligations: a labelled fragment is found when some listed passage contains it; a
/// passage that contains no fragment is wrong.
pub fn score_obligations(fragments: &[String], passages: &[String]) -> Counts {
    let fragments: Vec<String> = fragments.iter().map(|f| normal(f)).collect();
    let passages: Vec<String> = passages.iter().map(|p| normal(p)).collect();
    let found = fragments
        .iter()
        .filter(|f| passages.iter().any(|p| p.contains(f.as_str())))
        .count() as u32;
    let wrong = passages
        .iter()
        .filter(|p| !fragments.iter().any(|f| p.contains(f.as_str())))
        .count() as u32;
    Counts {
        found,
        wrong,
        missed: fragments.len() as u32 - found,
    }
}

/// The share of the relevant contracts in the first `k` results.
pub fn recall_at(k: usize, ranked: &[String], relevant: &[String]) -> f64 {
    let hits = ranked
        .iter()
        .take(k)
        .filter(|r| relevant.contains(r))
        .count();
    hits as f64 / relevant.len() as f64
}

/// Normalised discounted cumulative gain of the first `k` results, every relevant
/// contract of gain 1.
pub fn ndcg_at(k: usize, ranked: &[String], relevant: &[String]) -> f64 {
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, r)| relevant.contains(r))
        .map(|(rank, _)| gain(rank))
        .sum();
    let ideal: f64 = (0..relevant.len().min(k)).map(gain).sum();
    dcg / ideal
}
