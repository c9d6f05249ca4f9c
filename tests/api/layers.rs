//! The layers point one way (see `src/lib.rs`): this reads every source file and fails
//! when a lower layer names a higher one, when `tenancy` or `kernel` use actix, or when
//! an area reaches into another area's routes. Cheap, and it runs with every test run,
//! so a wrong-way import fails CI rather than waiting for a reviewer.

use std::path::{Path, PathBuf};

/// Layers bottom to top; a module may name its own layer and those before it.
const LAYERS: &[&[&str]] = &[
    &["tenancy"],
    &["kernel"],
    &["config", "telemetry"],
    &["web"],
    &[
        "identity",
        "contracts",
        "counterparties",
        "clauses",
        "templates",
        "comments",
        "attachments",
        "documents",
        "audit",
        "webhooks",
        "teams",
        "workflows",
        "notifications",
    ],
    &["app"],
];

/// Areas: the one layer whose members may call each other's services (never routes).
const AREAS: usize = 4;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a file names as `crate::<module>`, with the line.
fn named_modules(text: &str) -> Vec<(usize, String, String)> {
    let mut named = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let module: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let path: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &after[module.len()..];
            named.push((number + 1, module, path));
        }
    }
    named
}

/// Every wrong-way reference under `src/`, as readable lines.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let own = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if own == "lib" || own == "main" {
            continue;
        }
        let Some(own_layer) = layer_of(&own) else {
            wrong.push(format!(
                "{}: module `{own}` is in no layer; add it to tests/api/layers.rs and src/lib.rs",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        if own_layer <= 1 {
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("actix") {
                    wrong.push(format!(
                        "{}:{}: `{own}` must not use actix",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
        for (line, module, path) in named_modules(&text) {
            if module == own {
                continue;
            }
            let Some(layer) = layer_of(&module) else {
                continue;
            };
            if layer > own_layer {
                wrong.push(format!(
                    "{}:{line}: `{own}` (layer {own_layer}) imports `{module}` (layer {layer})",
                    relative.display()
                ));
            } else if own_layer == AREAS
                && layer == AREAS
                && path.starts_with(&format!("{module}::routes"))
            {
                wrong.push(format!(
                    "{}:{line}: area `{own}` reaches into `{module}`'s routes; call its service",
                    relative.display()
                ));
            }
        }
    }
    wrong
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let wrong = violations(&src);
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}

#[test]
fn the_layer_check_catches_a_wrong_way_import() {
    let scratch = std::env::temp_dir().join(format!("pactum-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("tenancy")).unwrap();
    std::fs::create_dir_all(scratch.join("comments")).unwrap();
    std::fs::write(
        scratch.join("tenancy/mod.rs"),
        "use crate::identity::password;\nuse actix_web::HttpRequest;\n",
    )
    .unwrap();
    std::fs::write(
        scratch.join("comments/mod.rs"),
        "use crate::contracts::routes::get_contract;\nuse crate::contracts::read_contract_rows;\n",
    )
    .unwrap();
    let wrong = violations(&scratch);
    std::fs::remove_dir_all(&scratch).unwrap();
    assert_eq!(wrong.len(), 3, "{wrong:#?}");
    assert!(wrong[0..].iter().any(|w| w.contains("imports `identity`")));
    assert!(wrong.iter().any(|w| w.contains("must not use actix")));
    assert!(wrong
        .iter()
        .any(|w| w.contains("reaches into `contracts`'s routes")));
}

/// `file:line` of every place under `src/` where `check` finds something, files named
/// in `skip` (relative to `src/`) aside.
fn found_in_src(check: fn(&str) -> Vec<usize>, skip: &[&str]) -> Vec<String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        if skip.contains(&name.as_str()) {
            continue;
        }
        for line in check(&std::fs::read_to_string(&file).unwrap()) {
            found.push(format!("{name}:{line}"));
        }
    }
    found
}

/// `INSERT ... VALUES` statements in `text` that hold a subquery, which Citus refuses
/// ("subqueries are not supported within INSERT queries"), by line.
fn subqueries_in_insert_values(text: &str) -> Vec<usize> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("insert into") {
        let start = from + at;
        let statement_end = ["returning", "on conflict", "\",", "\")", "\";"]
            .iter()
            .filter_map(|end| lower[start..].find(end))
            .min()
            .map_or(lower.len(), |end| start + end);
        let statement = &lower[start..statement_end];
        if let Some(values) = statement.find("values") {
            if statement[values..].contains("select") {
                found.push(text[..start].matches('\n').count() + 1);
            }
        }
        from = start + "insert into".len();
    }
    found
}

#[test]
fn sql_stays_citus_safe_no_subquery_inside_insert_values() {
    let wrong = found_in_src(subqueries_in_insert_values, &[]);
    assert!(
        wrong.is_empty(),
        "subqueries inside INSERT ... VALUES: {wrong:?}"
    );
    // The check itself finds one.
    let sample = "tx.execute(\"insert into t (a, b) values ($1, (select max(b) from t))\", &[]);\n\
                  tx.execute(\"insert into t (a) values ($1) on conflict do nothing\", &[]);";
    assert_eq!(subqueries_in_insert_values(sample), [1]);
}

/// Functions that are not IMMUTABLE, which Citus refuses in `ON CONFLICT ... DO UPDATE`
/// on a distributed table ("functions used in the DO UPDATE SET clause of INSERTs on
/// distributed tables must be marked IMMUTABLE"). Bind the value instead.
const NOT_IMMUTABLE: [&str; 10] = [
    "now()",
    "current_timestamp",
    "current_date",
    "localtimestamp",
    "clock_timestamp(",
    "statement_timestamp(",
    "transaction_timestamp(",
    "random(",
    "gen_random_uuid(",
    "nextval(",
];

/// Lines of `text` where an `ON CONFLICT ... DO UPDATE` calls a function that is not
/// IMMUTABLE.
fn volatile_in_on_conflict_update(text: &str) -> Vec<usize> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("do update set") {
        let start = from + at;
        let statement_end = ["returning", "\",", "\")", "\";"]
            .iter()
            .filter_map(|end| lower[start..].find(end))
            .min()
            .map_or(lower.len(), |end| start + end);
        let clause = &lower[start..statement_end];
        if NOT_IMMUTABLE.iter().any(|f| clause.contains(f)) {
            found.push(text[..start].matches('\n').count() + 1);
        }
        from = start + "do update set".len();
    }
    found
}

#[test]
fn sql_stays_citus_safe_no_volatile_function_in_on_conflict_do_update() {
    let wrong = found_in_src(volatile_in_on_conflict_update, &[]);
    assert!(
        wrong.is_empty(),
        "functions that are not IMMUTABLE in ON CONFLICT ... DO UPDATE: {wrong:?}"
    );
    // The check itself finds one, and lets a bound value through.
    let sample = "tx.execute(\"insert into t (id) values ($1) \\\n\
                  on conflict (id) do update set updated_at = now()\", &[]);\n\
                  tx.execute(\"insert into t (id, at) values ($1, $2) \\\n\
                  on conflict (id) do update set at = excluded.at\", &[]);";
    assert_eq!(volatile_in_on_conflict_update(sample), [2]);
}

/// Where the source may send a notification, and why it cannot make writing
/// transactions commit one after another (a notification inside a transaction takes a
/// database-wide lock held until its commit is flushed).
const MAY_NOTIFY: [(&str, &str); 4] = [
    (
        "tenancy/scoped.rs",
        "after the commit, as a statement of its own",
    ),
    (
        "kernel/jobs/enqueue.rs",
        "enqueue_with: tools and tests on a plain connection",
    ),
    ("kernel/jobs/admin.rs", "operator commands, one at a time"),
    (
        "notifications/stream.rs",
        "the notifier's own transaction, so a stream hears only what committed (without Redis)",
    ),
];

/// Lines of `text` that send a notification from SQL (comments aside).
fn notifying_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            !code.starts_with("//") && (code.contains("pg_notify(") || code.contains("NOTIFY "))
        })
        .map(|(number, _)| number + 1)
        .collect()
}

#[test]
fn notifications_are_sent_only_where_they_cannot_serialise_commits() {
    let allowed: Vec<&str> = MAY_NOTIFY.iter().map(|(file, _)| *file).collect();
    let wrong = found_in_src(notifying_lines, &allowed);
    assert!(
        wrong.is_empty(),
        "notifications sent from SQL outside the places that keep them out of writing \
         transactions (use TenantTx::notify_after_commit): {wrong:?}"
    );
    // The check itself finds one, and passes over a comment.
    let sample = "// a NOTIFY here is a comment\n\
                  tx.execute(\"select pg_notify('c', '')\", &[]).await?;";
    assert_eq!(notifying_lines(sample), [2]);
}

/// Lines where a statement picks a bounded set of rows with a `limit`ed subquery and
/// reaches them through `in (select ... limit n)` or a `with` query that an `update` or
/// `delete` joins. Planned generically, as cached statements are, the subquery is
/// estimated at its limit and the table is hashed whole to find a few rows; naming the
/// rows as `id = any(array(select ... limit n))` goes through the primary key (see
/// `jobs::runner::CLAIM_SQL`). A scalar `= (select ... limit 1)` is estimated at one
/// row and passes.
fn bounded_sets_not_named_by_array(text: &str) -> Vec<usize> {
    let lower = text.to_lowercase();
    let bytes = lower.as_bytes();
    let blank = |b: u8| b.is_ascii_whitespace() || b == b'\\';
    let mut found = Vec::new();
    for (open, _) in lower.match_indices('(') {
        let mut inner = open + 1;
        while inner < bytes.len() && blank(bytes[inner]) {
            inner += 1;
        }
        if !lower[inner..].starts_with("select") {
            continue;
        }
        let mut depth = 0usize;
        let mut close = open;
        for (offset, b) in bytes[open..].iter().enumerate() {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + offset;
                        break;
                    }
                }
                _ => {}
            }
        }
        if close == open || !lower[inner..close].contains(" limit ") {
            continue;
        }
        let before = lower[..open].trim_end_matches(|c: char| c.is_whitespace() || c == '\\');
        let statement_rest = &lower[close..];
        let literal_end = ["\";", "\",", "\")"]
            .iter()
            .filter_map(|end| statement_rest.find(end))
            .min()
            .unwrap_or(statement_rest.len());
        let rest = &statement_rest[..literal_end];
        let changes_rows = rest.contains("update ") || rest.contains("delete ");
        let through_in = before.ends_with(" in");
        let through_with = before.ends_with(" as") && changes_rows;
        if through_in || through_with {
            found.push(text[..open].matches('\n').count() + 1);
        }
    }
    found
}

#[test]
fn bounded_row_sets_are_named_by_an_array_of_ids() {
    let wrong = found_in_src(bounded_sets_not_named_by_array, &[]);
    assert!(
        wrong.is_empty(),
        "a limited subquery reached through `in (...)` or a joined `with` query; write \
         `id = any(array(select ... limit n))` instead: {wrong:?}"
    );
    // The check itself finds both shapes, and passes the array and a scalar subquery.
    let joined =
        "\"with due as (select id from t order by run_at limit 5000 for update skip locked) \\\n\
                  update t set state = 'x' from due where t.id = due.id\"";
    assert_eq!(bounded_sets_not_named_by_array(joined), [1]);
    let within = "\"delete from t where id in (\n  select id from t where old limit 100)\"";
    assert_eq!(bounded_sets_not_named_by_array(within), [1]);
    let named = "\"update t set state = 'x' where id = any(array(select id from t limit 10))\"";
    assert!(bounded_sets_not_named_by_array(named).is_empty());
    let scalar = "\"delete from t where name = (select name from t order by at limit 1)\"";
    assert!(bounded_sets_not_named_by_array(scalar).is_empty());
    let paged = "\"with page as (select id from t order by id limit $1) select * from page\"";
    assert!(bounded_sets_not_named_by_array(paged).is_empty());
}
