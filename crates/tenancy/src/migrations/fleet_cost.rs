//! Which statements of a tenant migration cost more with every schema in the database.
//!
//! `tenantctl migrate` applies a new tenant migration to every existing schema. An
//! `alter table ... add column` that gives existing rows a value (a default, `not null`
//! or not; a stored generated column; identity or serial) makes PostgreSQL check what
//! depends on the table's row type across the whole catalog before it fills the column:
//! about 90 ms per schema in a database of a thousand tenants, against under 2 ms for a
//! column added bare and then given a default for new rows (`scripts/bench-add-column.sh`,
//! see docs/benchmarks.md, "Adding a column to every tenant"). Filling the existing rows
//! instead costs per row, not per catalog: cheaper for small tables, dearer for large
//! ones. The migrations squashed into the baseline paid it already; the tests refuse it
//! in any migration after the baseline unless the migration says why the cost is
//! accepted ([`COST_ACCEPTED`]).

/// A line starting with this, followed by the reason, lets a migration add columns that
/// check the whole catalog: where every existing row must hold the value and its tables
/// are large enough that filling them would cost more.
pub const COST_ACCEPTED: &str = "-- fleet cost accepted:";

/// Whether `sql` says why it accepts the cost, on a line of its own.
pub fn cost_accepted(sql: &str) -> bool {
    sql.lines().any(|line| {
        line.trim()
            .strip_prefix(COST_ACCEPTED)
            .is_some_and(|reason| reason.split_whitespace().count() >= 3)
    })
}

/// Each `add column` clause of `sql`'s `alter table` statements that gives existing
/// rows a value, as written (lower-cased, spaces folded).
pub fn catalog_wide_column_adds(sql: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in top_level_split(&without_comments(sql), ';') {
        let statement = fold_spaces(&statement.to_ascii_lowercase());
        let Some(actions) = statement.strip_prefix("alter table ") else {
            continue;
        };
        for action in top_level_split(actions, ',') {
            let action = action.trim();
            // `alter table t add column c ...`: the first action follows the table's
            // name.
            let Some(at) = find_word(action, "add column ").or_else(|| {
                find_word(action, "add ").filter(|&at| !adds_a_constraint(&action[at + 4..]))
            }) else {
                continue;
            };
            let column = &action[at..];
            // Its constraints and clauses, without what a check, a default's expression
            // or a string says.
            let clauses = format!("{} ", fold_spaces(&outside_brackets_and_quotes(column)));
            let costly = (clauses.contains(" default ") && !clauses.contains(" default null "))
                || (clauses.contains(" generated ") && clauses.contains(" stored "))
                || clauses.contains(" as identity ")
                || matches!(
                    column_type(&clauses),
                    Some(
                        "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
                    )
                );
            if costly {
                found.push(column.to_string());
            }
        }
    }
    found
}

/// Where `word` starts `text` or follows a space.
fn find_word(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text.as_bytes()[at - 1] == b' ')
}

/// The type an `add [column] [if not exists] <name> <type> ...` clause names.
fn column_type(clause: &str) -> Option<&str> {
    let rest = clause.trim().strip_prefix("add ")?;
    let rest = rest.strip_prefix("column ").unwrap_or(rest);
    let rest = rest.strip_prefix("if not exists ").unwrap_or(rest);
    rest.split(' ').nth(1)
}

fn adds_a_constraint(after_add: &str) -> bool {
    [
        "constraint ",
        "check ",
        "check(",
        "unique ",
        "primary key",
        "foreign key",
        "exclude ",
    ]
    .iter()
    .any(|keyword| after_add.starts_with(keyword))
}

/// `sql` without `--` comments (outside quotes).
fn without_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if !quoted && c == '-' && chars.peek() == Some(&'-') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `text` split at `separator` where it stands outside brackets, quotes and
/// dollar-quoted bodies.
fn top_level_split(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let (mut depth, mut quoted, mut dollar) = (0usize, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !dollar => quoted = !quoted,
            '$' if !quoted && chars.peek() == Some(&'$') => {
                dollar = !dollar;
                part.push(c);
                part.push(chars.next().expect("peeked"));
                continue;
            }
            '(' if !quoted && !dollar => depth += 1,
            ')' if !quoted && !dollar => depth = depth.saturating_sub(1),
            _ if c == separator && depth == 0 && !quoted && !dollar => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts.push(part);
    parts.retain(|part| !part.trim().is_empty());
    parts
}

fn outside_brackets_and_quotes(text: &str) -> String {
    let (mut depth, mut quoted) = (0usize, false);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(' ');
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.saturating_sub(1);
                out.push(' ');
            }
            _ if depth == 0 && !quoted => out.push(c),
            _ => {}
        }
    }
    out
}

fn fold_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::baseline::tenant_baseline_for;
    use crate::migrations::MigrationSet;

    #[test]
    fn finds_columns_added_with_a_value_for_existing_rows() {
        let sql = "-- a comment; alter table x add column c int not null default 0\n\
            alter table contracts add column a text not null default 'x;y',\n\
                add column b int,\n\
                add c text generated always as (lower(title)) stored,\n\
                add constraint d check (b > 0);\n\
            create table t (e int not null default 0);\n\
            alter table contracts add column f text check (f <> 'default ');\n\
            alter table contracts add column f2 text default null;\n\
            alter table contracts add column if not exists g bigserial, add h int generated always as identity;\n\
            alter table contracts add column j text default 'x';\n\
            alter table contracts alter column b set default 1;\n\
            alter table contracts alter column address_add set default 'x';\n\
            create function g() returns trigger language plpgsql as $$ begin\n\
                alter table y add column h int; return new; end $$;\n\
            ALTER TABLE  tasks\n  ADD COLUMN   i  boolean NOT NULL DEFAULT false;";
        assert_eq!(
            catalog_wide_column_adds(sql),
            vec![
                "add column a text not null default 'x;y'",
                "add c text generated always as (lower(title)) stored",
                "add column if not exists g bigserial",
                "add h int generated always as identity",
                "add column j text default 'x'",
                "add column i boolean not null default false",
            ]
        );
    }

    /// The rule would have caught what made replaying the migrations slow: the
    /// squashed migrations hold such statements (which is why new schemas start from
    /// the baseline), and none may follow it, since `tenantctl migrate` would run them
    /// once per existing tenant.
    #[test]
    fn no_tenant_migration_after_the_baseline_adds_a_column_that_checks_the_whole_catalog() {
        let set = MigrationSet::tenant();
        let baseline = tenant_baseline_for(set.migrations()).expect("a matching baseline");
        let squashed: usize = set
            .migrations()
            .iter()
            .filter(|m| m.version() <= baseline.version)
            .map(|m| catalog_wide_column_adds(m.sql().unwrap_or_default()).len())
            .sum();
        // The 36 statements that took 40-175 ms each when the migrations were replayed
        // in a database of 950 tenants (docs/benchmarks.md, "Why a new schema starts
        // from a squashed baseline").
        assert_eq!(squashed, 36);
        for migration in set
            .migrations()
            .iter()
            .filter(|m| m.version() > baseline.version)
        {
            let sql = migration.sql().unwrap_or_default();
            let found = catalog_wide_column_adds(sql);
            assert!(
                found.is_empty() || cost_accepted(sql),
                "V{}__{} adds {found:?}: on an existing table, `tenantctl migrate` then \
                 checks the whole catalog in every tenant schema (about 90 ms each at \
                 1,000 tenants). Add the column bare and set its default for new rows \
                 (existing rows keep null), or fill it where tables are small, or say \
                 why the cost is accepted on a line `{COST_ACCEPTED} <why>` \
                 (migrations/README.md)",
                migration.version(),
                migration.name()
            );
        }
    }

    #[test]
    fn a_migration_accepts_the_cost_only_with_a_reason() {
        let add = "alter table contracts add column a text not null default 'x';";
        assert!(!cost_accepted(add));
        assert!(!cost_accepted(&format!("{COST_ACCEPTED}\n{add}")));
        assert!(!cost_accepted(&format!("{COST_ACCEPTED} we must\n{add}")));
        assert!(
            !cost_accepted(&format!(
                "select 1; {COST_ACCEPTED} every row needs it\n{add}"
            )),
            "on a line of its own"
        );
        assert!(cost_accepted(&format!(
            "  {COST_ACCEPTED} every row needs it, and tables run to millions\n{add}"
        )));
    }
}
