//! Running on Citus with schema-based sharding, where each tenant schema is a
//! distributed schema placed whole on one worker.
//!
//! Citus forwards the raw text of some DDL (`CREATE INDEX`, `DROP INDEX`,
//! `CREATE TRIGGER`) to the worker that holds the schema, and the worker runs it as a
//! prepared statement, which refuses a message holding several commands. So on Citus a
//! migration script goes one statement per message; on plain PostgreSQL it stays one
//! message, which is what keeps a cold build at the cost of its raw DDL. Which one is
//! decided by looking for the extension in the same round trip that takes the
//! provisioning lock, so plain PostgreSQL pays nothing for the check.
//!
//! SQL rules new code must follow to stay Citus-safe (also in ARCHITECTURE.md): one
//! DDL statement per message on the Citus path; no subquery inside `INSERT ... VALUES`;
//! `NOTIFY` only from `public` tables or the application; no foreign key from one
//! schema to another tenant's; no join between two tenants' schemas; constraint names
//! matched with or without a shard suffix (`error::constraint_is`).

use tokio_postgres::{GenericClient, Transaction};

use super::names::SchemaName;

/// `true` when the Citus extension is installed in this database.
pub const DETECT_SQL: &str = "exists (select 1 from pg_extension where extname = 'citus')";

/// What the database is, as far as sending DDL goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cluster {
    Postgres,
    Citus,
}

impl Cluster {
    pub fn from_detected(citus: bool) -> Self {
        if citus {
            Self::Citus
        } else {
            Self::Postgres
        }
    }

    pub async fn detect(client: &impl GenericClient) -> Result<Self, tokio_postgres::Error> {
        let row = client
            .query_one(&format!("select {DETECT_SQL}"), &[])
            .await?;
        Ok(Self::from_detected(row.get(0)))
    }

    /// Sends `script`: as one message on PostgreSQL, one statement per message on Citus.
    pub async fn execute_script(
        self,
        client: &impl GenericClient,
        script: &str,
    ) -> Result<(), tokio_postgres::Error> {
        match self {
            Self::Postgres => client.batch_execute(script).await,
            Self::Citus => {
                for statement in split_statements(script) {
                    client.batch_execute(statement).await?;
                }
                Ok(())
            }
        }
    }

    /// Before building a tenant schema in `tx`: on Citus, allow the audit triggers on
    /// the schema's distributed tables (they only touch their own schema, which lives
    /// whole on one worker, so the reason for the guard does not apply).
    pub async fn before_schema_build(
        self,
        tx: &Transaction<'_>,
    ) -> Result<(), tokio_postgres::Error> {
        match self {
            Self::Postgres => Ok(()),
            Self::Citus => {
                tx.batch_execute("set local citus.enable_unsafe_triggers = on")
                    .await
            }
        }
    }

    /// On Citus, makes sure `schema` is a distributed schema: one built while schema-based
    /// sharding was off (a spare from before Citus, say) is distributed now, in the same
    /// transaction, rather than becoming a tenant left on the coordinator.
    pub async fn ensure_distributed(
        self,
        tx: &Transaction<'_>,
        schema: &SchemaName,
    ) -> Result<(), tokio_postgres::Error> {
        if self == Self::Postgres {
            return Ok(());
        }
        let distributed: bool = tx
            .query_one(
                "select exists (select 1 from pg_dist_schema \
                 where schemaid = to_regnamespace($1)::oid)",
                &[&schema.as_str()],
            )
            .await?
            .get(0);
        if !distributed {
            tracing::warn!(%schema, "schema was not distributed; distributing it now");
            // Its tables carry the audit triggers, which Citus refuses to distribute
            // unless told they are safe (they touch only their own schema).
            tx.batch_execute("set local citus.enable_unsafe_triggers = on")
                .await?;
            tx.execute(
                "select citus_schema_distribute(to_regnamespace($1))",
                &[&schema.as_str()],
            )
            .await?;
        }
        Ok(())
    }
}

/// Splits a SQL script into its statements, without the separating semicolons. Knows
/// what may hide a semicolon: quoted strings (`'...'`, `E'...'` with backslash
/// escapes), quoted identifiers, dollar-quoted bodies (`$$...$$`, `$fn$...$fn$`), line
/// comments and nested block comments. Pieces holding only white space and comments
/// are dropped.
pub fn split_statements(script: &str) -> Vec<&str> {
    let bytes = script.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut meaningful = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = script[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < bytes.len() && depth > 0 {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && (i < 2 || !is_identifier_byte(bytes[i - 2]));
                i = skip_quoted(bytes, i, b'\'', escapes);
                meaningful = true;
                continue;
            }
            b'"' => {
                i = skip_quoted(bytes, i, b'"', false);
                meaningful = true;
                continue;
            }
            b'$' if i == 0 || !is_identifier_byte(bytes[i - 1]) => {
                if let Some(tag_len) = dollar_tag(&bytes[i..]) {
                    let tag = &script[i..i + tag_len];
                    let body = i + tag_len;
                    i = script[body..]
                        .find(tag)
                        .map_or(bytes.len(), |n| body + n + tag_len);
                    meaningful = true;
                    continue;
                }
            }
            b';' => {
                if meaningful {
                    statements.push(script[start..i].trim());
                }
                start = i + 1;
                meaningful = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            meaningful = true;
        }
        i += 1;
    }
    if meaningful {
        statements.push(script[start..].trim());
    }
    statements
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The end of a quoted run that starts at `open`; a doubled quote stays inside, and
/// with `backslash_escapes` so does a backslash-escaped one.
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The length of a dollar-quote tag (`$$` or `$name$`) at the start of `bytes`.
fn dollar_tag(bytes: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'$' => return Some(i + 1),
            b if i == 1 && b.is_ascii_digit() => return None, // `$1`: a parameter
            b if is_identifier_byte(b) => i += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn plain_statements_split_on_semicolons() {
        assert_eq!(
            split_statements("create table a (id int);\n create index a_id on a (id);  "),
            ["create table a (id int)", "create index a_id on a (id)"]
        );
    }

    #[test]
    fn a_function_body_keeps_its_semicolons() {
        let script = "create function f() returns trigger language plpgsql as $$\n\
             begin new.x := 1; return new; end $$;\n\
             create trigger t before insert on a for each row execute function f();\n\
             create function g() returns int language sql as $body$ select 1; $body$;";
        let statements = split_statements(script);
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert!(statements[0].ends_with("return new; end $$"));
        assert!(statements[1].starts_with("create trigger"));
        assert!(statements[2].ends_with("$body$ select 1; $body$"));
    }

    #[test]
    fn quotes_and_comments_hide_semicolons() {
        let script = "update a set v = 'x;y', w = 'it''s; fine', z = E'back\\'slash;';\n\
             -- a comment; with a semicolon\n\
             select \"odd;name\" from a /* block; /* nested; */ still */;\n\
             /* only a comment; */ ;\n\
             select $1::int, a$b from a";
        let statements = split_statements(script);
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert!(statements[0].ends_with("E'back\\'slash;'"));
        assert!(statements[1].contains("\"odd;name\""));
        assert!(statements[1].ends_with("still */"));
        assert_eq!(statements[2], "select $1::int, a$b from a");
    }

    #[test]
    fn empty_and_comment_only_scripts_have_no_statements() {
        assert!(split_statements("").is_empty());
        assert!(split_statements(" ;\n; -- nothing\n/* nothing */").is_empty());
    }

    #[test]
    fn an_unterminated_quote_runs_to_the_end_without_panicking() {
        assert_eq!(
            split_statements("select 'open; still"),
            ["select 'open; still"]
        );
        assert_eq!(
            split_statements("select $$open; still"),
            ["select $$open; still"]
        );
        assert_eq!(
            split_statements("select 1 /* open; still"),
            ["select 1 /* open; still"]
        );
    }
}
