//! Trigger rules, in the lookup language of the workflow seed: a JSON object of
//! `field__operator: value` pairs, all of which must hold, with `all`, `any` and `not`
//! to combine rules, e.g.
//!
//! ```json
//! {"value__gte": "500000", "contract_type__in": ["msa", "sow"],
//!  "any": [{"tags__contains": "strategic"}, {"metadata__region": "emea"}]}
//! ```
//!
//! A rule is compiled to one parameterised SQL boolean expression over a contract row
//! (alias `c`), evaluated by PostgreSQL. Fields come from an allow-list and every value
//! is checked against its field's type before anything runs, so a compiled rule can
//! neither inject SQL nor fail on a cast. Refusals name the offending path
//! (`any[1].value__gte`).

use serde_json::Value;
use uuid::Uuid;

/// Deepest nesting of `all` / `any` / `not`.
pub const MAX_DEPTH: usize = 10;
/// Most conditions (leaves) in one rule.
pub const MAX_CONDITIONS: usize = 200;
/// Longest list an `in` or `range` takes.
pub const MAX_LIST: usize = 500;
/// Longest text value.
pub const MAX_TEXT: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RuleError {
    /// Where in the rule, e.g. `any[1].value__gte` (`$` for the rule itself).
    pub path: String,
    pub message: String,
}

/// A bound value, typed by how the SQL casts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    TextList(Vec<String>),
    Bool(bool),
}

impl Param {
    /// The value to bind.
    pub fn as_sql(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Self::Text(text) => text,
            Self::TextList(list) => list,
            Self::Bool(flag) => flag,
        }
    }
}

/// A rule as SQL: a boolean expression over `c` with placeholders from
/// `$<first>` on, and the values to bind, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Param>,
    /// Each condition's path and its own SQL (placeholders shared with `sql`), so that
    /// a caller can say which one failed.
    pub conditions: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Decimal,
    Date,
    Uuid,
    Bool,
    Tags,
}

/// The fields a rule may name: its name, the SQL it reads, its type.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("contract_type", "c.contract_type", Kind::Text),
    ("type", "c.contract_type", Kind::Text),
    ("value", "c.value", Kind::Decimal),
    ("currency", "c.currency", Kind::Text),
    ("status", "c.status", Kind::Text),
    ("counterparty", "c.counterparty_id", Kind::Uuid),
    ("counterparty_id", "c.counterparty_id", Kind::Uuid),
    ("owner", "c.owner_id", Kind::Uuid),
    ("owner_id", "c.owner_id", Kind::Uuid),
    ("tags", "c.tags", Kind::Tags),
    ("start_date", "c.start_date", Kind::Date),
    ("end_date", "c.end_date", Kind::Date),
    ("auto_renew", "c.auto_renew", Kind::Bool),
    ("auto_renewal", "c.auto_renew", Kind::Bool),
    ("title", "c.title", Kind::Text),
    ("risk_level", "c.risk_level", Kind::Text),
];

const OPERATORS: &[&str] = &[
    "exact",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "contains",
    "icontains",
    "isnull",
    "range",
];

/// Compiles `rule`, numbering placeholders from `$first`.
pub fn compile(rule: &Value, first: usize) -> Result<Compiled, RuleError> {
    let mut compiler = Compiler {
        first,
        params: Vec::new(),
        conditions: Vec::new(),
    };
    let sql = compiler.rule(rule, "$", 0)?;
    Ok(Compiled {
        sql,
        params: compiler.params,
        conditions: compiler.conditions,
    })
}

struct Compiler {
    first: usize,
    params: Vec<Param>,
    conditions: Vec<(String, String)>,
}

fn refuse(path: &str, message: impl Into<String>) -> RuleError {
    RuleError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn child(path: &str, key: &str) -> String {
    if path == "$" {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Refused text is quoted, and cut, in messages.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(60).collect();
    format!("{cut:?}")
}

impl Compiler {
    fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.first + self.params.len() - 1)
    }

    fn rule(&mut self, rule: &Value, path: &str, depth: usize) -> Result<String, RuleError> {
        if depth > MAX_DEPTH {
            return Err(refuse(
                path,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let Value::Object(pairs) = rule else {
            return Err(refuse(path, "a rule is a JSON object"));
        };
        if pairs.is_empty() {
            // An empty rule matches everything: a catch-all definition.
            return Ok("true".into());
        }
        let mut parts = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let here = child(path, key);
            let part = match key.as_str() {
                "all" | "any" => self.combination(key, value, &here, depth)?,
                "not" => format!(
                    "not coalesce(({}), false)",
                    self.rule(value, &here, depth + 1)?
                ),
                _ => self.condition(key, value, &here)?,
            };
            parts.push(part);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            format!("({})", parts.join(" and "))
        })
    }

    fn combination(
        &mut self,
        key: &str,
        value: &Value,
        path: &str,
        depth: usize,
    ) -> Result<String, RuleError> {
        let Value::Array(rules) = value else {
            return Err(refuse(path, format!("`{key}` takes a list of rules")));
        };
        if rules.is_empty() {
            return Err(refuse(path, format!("`{key}` needs at least one rule")));
        }
        if rules.len() > MAX_CONDITIONS {
            return Err(refuse(path, format!("more than {MAX_CONDITIONS} rules")));
        }
        let mut parts = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            parts.push(self.rule(rule, &format!("{path}[{i}]"), depth + 1)?);
        }
        let joiner = if key == "all" { " and " } else { " or " };
        Ok(format!("({})", parts.join(joiner)))
    }

    fn condition(&mut self, key: &str, value: &Value, path: &str) -> Result<String, RuleError> {
        if self.conditions.len() >= MAX_CONDITIONS {
            return Err(refuse(
                path,
                format!("a rule has at most {MAX_CONDITIONS} conditions"),
            ));
        }
        let (column, kind, operator) = parse_key(key, path)?;
        let sql = self.compare(&column, kind, operator, value, path)?;
        self.conditions.push((path.to_owned(), sql.clone()));
        Ok(sql)
    }

    fn compare(
        &mut self,
        column: &str,
        kind: Kind,
        operator: &str,
        value: &Value,
        path: &str,
    ) -> Result<String, RuleError> {
        if operator == "isnull" {
            let Value::Bool(null) = value else {
                return Err(refuse(path, "isnull takes true or false"));
            };
            let test = if kind == Kind::Tags {
                format!("cardinality({column}) = 0")
            } else {
                format!("{column} is null")
            };
            return Ok(if *null { test } else { format!("not ({test})") });
        }
        let allowed: &[&str] = match kind {
            Kind::Text => &["exact", "in", "contains", "icontains"],
            Kind::Decimal | Kind::Date => &["exact", "lt", "lte", "gt", "gte", "in", "range"],
            Kind::Uuid => &["exact", "in"],
            Kind::Bool => &["exact"],
            Kind::Tags => &["contains", "in"],
        };
        if !allowed.contains(&operator) {
            return Err(refuse(
                path,
                format!(
                    "{operator} does not apply to this field (use {})",
                    allowed.join(", ")
                ),
            ));
        }
        // Values are bound as text and cast in SQL (checked above, so the cast cannot
        // fail): the driver then never has to know numeric or date types.
        let (cast, list_cast) = match kind {
            Kind::Decimal => ("::text::numeric", "::text[]::numeric[]"),
            Kind::Date => ("::text::date", "::text[]::date[]"),
            Kind::Uuid => ("::text::uuid", "::text[]::uuid[]"),
            Kind::Text | Kind::Tags | Kind::Bool => ("", "::text[]"),
        };
        Ok(match operator {
            "exact" if kind == Kind::Bool => {
                let Value::Bool(flag) = value else {
                    return Err(refuse(path, "expected true or false"));
                };
                format!("{column} = {}", self.bind(Param::Bool(*flag)))
            }
            "exact" | "lt" | "lte" | "gt" | "gte" => {
                let one = scalar(kind, value, path)?;
                let symbol = match operator {
                    "exact" => "=",
                    "lt" => "<",
                    "lte" => "<=",
                    "gt" => ">",
                    _ => ">=",
                };
                format!("{column} {symbol} {}{cast}", self.bind(Param::Text(one)))
            }
            "in" => {
                let list = list(kind, value, path)?;
                let bound = self.bind(Param::TextList(list));
                if kind == Kind::Tags {
                    format!("{column} && {bound}::text[]")
                } else {
                    format!("{column} = any({bound}{list_cast})")
                }
            }
            "range" => {
                let bounds = list(kind, value, path)?;
                let [low, high] = <[String; 2]>::try_from(bounds)
                    .map_err(|_| refuse(path, "range takes [low, high]"))?;
                let low = self.bind(Param::Text(low));
                let high = self.bind(Param::Text(high));
                format!("{column} between {low}{cast} and {high}{cast}")
            }
            "contains" if kind == Kind::Tags => {
                let tag = scalar(Kind::Text, value, path)?;
                format!("{column} @> array[{}::text]", self.bind(Param::Text(tag)))
            }
            "contains" | "icontains" => {
                let text = scalar(Kind::Text, value, path)?;
                // LIKE wildcards in the value are matched literally.
                let escaped = text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let like = if operator == "contains" {
                    "like"
                } else {
                    "ilike"
                };
                format!(
                    "{column} {like} '%' || {} || '%'",
                    self.bind(Param::Text(escaped))
                )
            }
            _ => unreachable!("operators are checked against the allow-list above"),
        })
    }
}

/// What a rule requires of every contract it matches, read from its top-level
/// conditions (and `all` lists among them): the contract types it allows and a lowest
/// value. Necessary conditions only: a contract they rule out cannot match the rule;
/// one they let through still has to be evaluated. Matching filters on them in SQL, so
/// most definitions are never evaluated. Only for rules that compile.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    pub types: Option<Vec<String>>,
    /// A decimal, as written in the rule.
    pub min_value: Option<String>,
}

pub fn necessary_facts(rule: &Value) -> Facts {
    let mut facts = Facts::default();
    collect_facts(rule, &mut facts);
    facts
}

fn collect_facts(rule: &Value, facts: &mut Facts) {
    let Value::Object(pairs) = rule else {
        return;
    };
    for (key, value) in pairs {
        match (key.as_str(), value) {
            ("all", Value::Array(rules)) => rules.iter().for_each(|r| collect_facts(r, facts)),
            (
                "contract_type" | "contract_type__exact" | "type" | "type__exact",
                Value::String(t),
            ) => narrow_types(facts, vec![t.clone()]),
            ("contract_type__in" | "type__in", Value::Array(list)) => {
                let types: Vec<String> = list
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect();
                if types.len() == list.len() {
                    narrow_types(facts, types);
                }
            }
            ("value" | "value__exact" | "value__gte" | "value__gt", bound) => {
                raise_min(facts, bound);
            }
            ("value__range", Value::Array(bounds)) => {
                if let Some(low) = bounds.first() {
                    raise_min(facts, low);
                }
            }
            _ => {}
        }
    }
}

fn narrow_types(facts: &mut Facts, types: Vec<String>) {
    facts.types = Some(match facts.types.take() {
        None => types,
        Some(known) => known.into_iter().filter(|t| types.contains(t)).collect(),
    });
}

fn raise_min(facts: &mut Facts, bound: &Value) {
    let text = match bound {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return,
    };
    // Any one of the bounds is necessary; the highest prunes most. Compared as floats
    // only to choose between them: whichever is kept is still a bound the rule requires.
    let higher = match (&facts.min_value, text.parse::<f64>()) {
        (_, Err(_)) => false,
        (None, Ok(_)) => true,
        (Some(known), Ok(new)) => known.parse::<f64>().map_or(true, |known| new > known),
    };
    if higher {
        facts.min_value = Some(text);
    }
}

/// `field__operator`, `field` (exact), or `metadata__<key>[__operator]`.
fn parse_key(key: &str, path: &str) -> Result<(String, Kind, &'static str), RuleError> {
    let parts: Vec<&str> = key.split("__").collect();
    let operator_of = |name: &str| -> Result<&'static str, RuleError> {
        OPERATORS
            .iter()
            .find(|op| **op == name)
            .copied()
            .ok_or_else(|| refuse(path, format!("unknown operator {}", shown(name))))
    };
    if parts[0] == "metadata" {
        let (Some(meta), rest) = (parts.get(1), &parts[2.min(parts.len())..]) else {
            return Err(refuse(path, "metadata needs a key: metadata__<key>"));
        };
        let valid = !meta.is_empty()
            && meta.len() <= 50
            && meta
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(refuse(
                path,
                format!("metadata key {} must be 1-50 of a-z, 0-9, _", shown(meta)),
            ));
        }
        let operator = match rest {
            [] => "exact",
            [op] => operator_of(op)?,
            _ => return Err(refuse(path, format!("unknown field {}", shown(key)))),
        };
        // The key is checked above and spliced as a quoted literal; values are bound.
        return Ok((format!("(c.metadata ->> '{meta}')"), Kind::Text, operator));
    }
    let (field, operator) = match parts.as_slice() {
        [field] => (*field, "exact"),
        [field, op] => (*field, operator_of(op)?),
        _ => return Err(refuse(path, format!("unknown field {}", shown(key)))),
    };
    let (_, column, kind) = FIELDS
        .iter()
        .find(|(name, ..)| *name == field)
        .ok_or_else(|| {
            refuse(
                path,
                format!(
                    "unknown field {} (fields: {}, metadata__<key>)",
                    shown(field),
                    FIELDS
                        .iter()
                        .map(|(n, ..)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    Ok(((*column).to_owned(), *kind, operator))
}

/// One value of `kind`, checked, as the text PostgreSQL will cast.
fn scalar(kind: Kind, value: &Value, path: &str) -> Result<String, RuleError> {
    let text = match (kind, value) {
        (Kind::Decimal, Value::Number(n)) => n.to_string(),
        (_, Value::String(s)) => s.clone(),
        _ => return Err(refuse(path, format!("expected {}", expected(kind)))),
    };
    if text.chars().count() > MAX_TEXT {
        return Err(refuse(path, format!("longer than {MAX_TEXT} characters")));
    }
    if text.chars().any(|c| c == '\0') {
        return Err(refuse(path, "NUL is not allowed"));
    }
    // Each value is checked by the rules PostgreSQL will apply to it, and passed on in
    // the one form it accepts: chrono takes a year 0 PostgreSQL refuses, and the uuid
    // crate takes `urn:uuid:...`, which PostgreSQL does not. A value refused here can
    // never make every later match of the tenant fail.
    let canonical = match kind {
        Kind::Text | Kind::Tags => Some(text.clone()),
        Kind::Decimal => is_decimal(&text).then(|| text.clone()),
        Kind::Date => crate::kernel::validate::IsoDate::parse(&text).map(|d| d.0.to_string()),
        Kind::Uuid => Uuid::parse_str(&text)
            .ok()
            .map(|u| u.hyphenated().to_string()),
        Kind::Bool => None,
    };
    canonical.ok_or_else(|| refuse(path, format!("{} is not {}", shown(&text), expected(kind))))
}

fn list(kind: Kind, value: &Value, path: &str) -> Result<Vec<String>, RuleError> {
    let Value::Array(items) = value else {
        return Err(refuse(path, "expected a list"));
    };
    if items.is_empty() || items.len() > MAX_LIST {
        return Err(refuse(path, format!("a list of 1 to {MAX_LIST} values")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| scalar(kind, item, &format!("{path}[{i}]")))
        .collect()
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Text | Kind::Tags => "a string",
        Kind::Decimal => "a decimal such as \"500000\" or \"1250.50\"",
        Kind::Date => "a date YYYY-MM-DD",
        Kind::Uuid => "a UUID",
        Kind::Bool => "true or false",
    }
}

/// Digits with at most one point and digits on both sides; at most 14 before it.
fn is_decimal(text: &str) -> bool {
    let (integer, fraction) = text.split_once('.').unwrap_or((text, "0"));
    !integer.is_empty()
        && integer.len() <= 14
        && !fraction.is_empty()
        && fraction.len() <= 10
        && integer.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
