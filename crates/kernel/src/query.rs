//! Building list queries from client input without ever splicing it into SQL: a
//! [`Filter`] collects `WHERE` conditions whose values are bound as parameters, and a
//! [`SortKeys`] allow-list turns `sort=-end_date` into an `ORDER BY` written by us.
//! Anything outside the allow-list is a 400 that names what is allowed.

use tokio_postgres::types::ToSql;

use super::error::DomainError;

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

    /// Binds a value without a condition of its own (one that a join or a later
    /// clause refers to); returns its number.
    pub fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> usize {
        self.params.push(Box::new(value));
        self.params.len()
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
}
