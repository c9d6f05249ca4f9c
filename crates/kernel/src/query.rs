//! Building list queries from client input without ever splicing it into SQL: a
//! [`Filter`] collects `WHERE` conditions whose values are bound as parameters, and a
//! [`SortKeys`] allow-list turns `sort=-end_date` into an `ORDER BY` written by us.
//! Anything outside the allow-list is a 400 that names what is allowed.
//!
//! A filter the client did not give leaves no trace in the statement: no
//! `$n is null or column = $n`. Each combination of filters is then a statement of its
//! own, and whatever plan PostgreSQL settles on for it (a cached statement may get a
//! generic plan, made without the values) can use the indexes its conditions name.
//! With the `is null or` form a generic plan can use none of them and filters the whole
//! list instead.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::error::DomainError;

/// The nil uuid, which sorts before every other: the id half of a first page's bound.
const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// The collation names and titles sort in: Unicode's root order (CLDR's, through ICU),
/// so "Österreich" sorts among the O's and "Éclair" among the E's whatever the
/// database's own collation (`C` in the project's clusters: code points, which put
/// every accented capital after "Z"). ICU's root collation comes with every PostgreSQL
/// built with ICU (Debian's and Ubuntu's packages, and every build since PostgreSQL 16
/// unless turned off) and sorts alike on each. It is deterministic: names equal to it
/// but not byte for byte still differ, so a keyset bound never skips one.
pub const NAME_COLLATION: &str = "\"und-x-icu\"";

/// The key a list by name sorts and pages by: `name` lowered (case aside, and what the
/// cursor holds) in [`NAME_COLLATION`], then `id`. The list's index must be made on
/// the same expression, collation included, or every page sorts the whole list.
pub fn name_order(name: &str, id: &str) -> String {
    format!("lower({name}) collate {NAME_COLLATION}, {id}")
}

/// `WHERE` conditions and their bound values.
#[derive(Default)]
pub struct Filter {
    conditions: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition on a new parameter: `condition` gets the parameter's number
    /// (`|n| format!("owner_id = ${n}")`).
    pub fn push(
        &mut self,
        condition: impl FnOnce(usize) -> String,
        value: impl ToSql + Sync + Send + 'static,
    ) {
        self.params.push(Box::new(value));
        self.conditions.push(condition(self.params.len()));
    }

    /// Adds a condition on a new parameter only when a value is given: see the module's
    /// note on why an absent filter must leave no condition behind.
    pub fn push_some<T: ToSql + Sync + Send + 'static>(
        &mut self,
        value: Option<T>,
        condition: impl FnOnce(usize) -> String,
    ) {
        if let Some(value) = value {
            self.push(condition, value);
        }
    }

    /// Binds a value without a condition of its own (one that a join or a later
    /// clause refers to); returns its number.
    pub fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> usize {
        self.params.push(Box::new(value));
        self.params.len()
    }

    /// Bounds a list read newest first, `order by <at> desc, <id> desc`, after the cursor's
    /// row: `key` names the two columns (`"created_at, id"`). The first page binds a
    /// bound before every row, so every plan reads the bound as an index range (see
    /// [`crate::page`]).
    pub fn after_newest(&mut self, key: &str, after: Option<(DateTime<Utc>, Uuid)>) {
        let (at, id) = after.unzip();
        let (at, id) = (self.bind(at), self.bind(id));
        self.require(format!(
            "({key}) < (coalesce(${at}::timestamptz, 'infinity'), coalesce(${id}::uuid, '{NIL}'))"
        ));
    }

    /// Bounds a list read by name, `order by <key>`, after the cursor's row, as
    /// [`Filter::after_newest`] does: `key` is the list's [`name_order`].
    pub fn after_name(&mut self, key: &str, after: Option<(String, Uuid)>) {
        let (name, id) = after.unzip();
        let (name, id) = (self.bind(name), self.bind(id));
        self.require(format!(
            "({key}) > (coalesce(${name}::text, ''), coalesce(${id}::uuid, '{NIL}'))"
        ));
    }

    /// Adds a condition on parameters already bound.
    pub fn require(&mut self, condition: impl Into<String>) {
        self.conditions.push(condition.into());
    }

    /// ` where a and b`, or nothing.
    pub fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" where {}", self.conditions.join(" and "))
        }
    }

    /// The parameters in order, as the driver takes them.
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// A key a list may be sorted by: what clients write, the SQL it stands for, and
/// whether that can be null (then nulls sort last, either way).
pub struct SortKey {
    pub name: &'static str,
    pub sql: &'static str,
    pub nullable: bool,
}

/// The keys one list may be sorted by; `id` always breaks ties, in the same direction.
pub struct SortKeys(pub &'static [SortKey]);

impl SortKeys {
    /// ` order by <key> <dir>[ nulls last], id <dir>` for `requested` (`key` or `-key`
    /// for descending), or for `default` when none is given. `extra` keys are allowed
    /// only in some requests (`rank` only with a search).
    pub fn order_by(
        &self,
        requested: Option<&str>,
        default: &str,
        extra: &[SortKey],
    ) -> Result<String, DomainError> {
        let sort = requested.unwrap_or(default);
        let (descending, name) = match sort.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, sort),
        };
        let key = self
            .0
            .iter()
            .chain(extra)
            .find(|key| key.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.0.iter().chain(extra).map(|k| k.name).collect();
                DomainError::Validation(format!(
                    "sort must be one of {}, optionally with a leading -",
                    names.join(", ")
                ))
            })?;
        let direction = if descending { "desc" } else { "asc" };
        // `nulls last` only where nulls exist: on a NOT NULL column it would stop an
        // index on (key desc, id desc) from serving the order.
        let nulls = if key.nullable { " nulls last" } else { "" };
        Ok(format!(
            " order by {} {direction}{nulls}, id {direction}",
            key.sql
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: SortKeys = SortKeys(&[
        SortKey {
            name: "created_at",
            sql: "created_at",
            nullable: false,
        },
        SortKey {
            name: "end_date",
            sql: "end_date",
            nullable: true,
        },
    ]);

    #[test]
    fn only_allowed_keys_sort_and_nullable_ones_put_nulls_last() {
        assert_eq!(
            KEYS.order_by(None, "-created_at", &[]).unwrap(),
            " order by created_at desc, id desc"
        );
        assert_eq!(
            KEYS.order_by(Some("end_date"), "-created_at", &[]).unwrap(),
            " order by end_date asc nulls last, id asc"
        );
        for hostile in ["id; drop table contracts", "--created_at", "rank", ""] {
            let error = KEYS
                .order_by(Some(hostile), "-created_at", &[])
                .unwrap_err();
            assert!(
                error.to_string().contains("created_at, end_date"),
                "{hostile}"
            );
        }
        let rank = SortKey {
            name: "rank",
            sql: "ts_rank(search, query)",
            nullable: true,
        };
        assert!(KEYS.order_by(Some("-rank"), "-created_at", &[rank]).is_ok());
    }

    #[test]
    fn conditions_number_their_parameters_in_order() {
        let mut filter = Filter::new();
        assert_eq!(filter.where_clause(), "");
        filter.push(|n| format!("status = ${n}"), "draft".to_owned());
        let q = filter.bind("nda".to_owned());
        filter.require(format!("search @@ websearch_to_tsquery(${q})"));
        filter.push(|n| format!("owner_id = ${n}"), uuid::Uuid::nil());
        assert_eq!(
            filter.where_clause(),
            " where status = $1 and search @@ websearch_to_tsquery($2) and owner_id = $3"
        );
        assert_eq!(filter.params().len(), 3);
    }

    #[test]
    fn an_absent_filter_leaves_no_condition_and_no_parameter() {
        let mut filter = Filter::new();
        filter.push_some(None::<String>, |n| format!("stage = ${n}"));
        filter.push_some(Some(uuid::Uuid::nil()), |n| format!("owner_id = ${n}"));
        filter.push_some(None::<uuid::Uuid>, |n| format!("account_id = ${n}"));
        assert_eq!(filter.where_clause(), " where owner_id = $1");
        assert_eq!(filter.params().len(), 1);
    }

    #[test]
    fn keyset_bounds_bind_both_halves_of_the_key_on_every_page() {
        let mut filter = Filter::new();
        filter.after_newest("created_at, id", None);
        filter.after_name(
            &name_order("name", "id"),
            Some(("acme".into(), Uuid::nil())),
        );
        assert_eq!(
            filter.where_clause(),
            format!(
                " where (created_at, id) < (coalesce($1::timestamptz, 'infinity'), \
                 coalesce($2::uuid, '{NIL}')) and (lower(name) collate \"und-x-icu\", id) > \
                 (coalesce($3::text, ''), coalesce($4::uuid, '{NIL}'))"
            )
        );
        assert_eq!(filter.params().len(), 4);
    }
}
