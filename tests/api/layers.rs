//! The layers point one way (see `src/lib.rs`), and every area keeps one shape. This
//! reads every source file and fails when a lower layer names a higher one, when
//! `tenancy` or `kernel` use actix, when an area reaches into another area's handlers
//! (directly or through a re-export), when files or areas import each other in a
//! cycle, or when a file without handlers (a model, a service) imports one with
//! handlers, in the server's crate, the tenancy crate and `tenantctl`. Cheap, and it
//! runs with every test run, so a wrong-way import fails CI rather than waiting for a
//! reviewer; each check has a test proving it can fail.
//!
//! Why this file is long: the checks share one reading of the sources (the import graph,
//! the SQL finder) and each sits beside the made-up tree that proves it can fail.

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
        "pipeline",
        "leads",
        "invoices",
        "activities",
        "cases",
        "imports",
        "dashboards",
        "search",
        "clauses",
        "templates",
        "comments",
        "attachments",
        "documents",
        "audit",
        "webhooks",
        "teams",
        "sla",
        "workflows",
        "notifications",
        "intelligence",
    ],
    &["app"],
];

/// Areas: the one layer whose members may call each other's services (never routes).
const AREAS: usize = 4;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

pub(crate) fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
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

/// The crates below the server: the compiler keeps each from naming what is above it
/// (a crate cannot depend on one that depends on it); this keeps the HTTP server, the
/// mailer and the areas' libraries out of them. The kernel builds outbound requests
/// (`destination`) and documents its page types, so reqwest and utoipa are its own.
#[test]
fn the_crates_below_the_server_know_no_http_server() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (dir, forbidden) in [
        (
            "crates/tenancy",
            &["actix", "reqwest", "utoipa", "lettre", "pactum ="][..],
        ),
        (
            "crates/kernel",
            &["actix", "lettre", "pdf", "minijinja", "pactum ="][..],
        ),
    ] {
        let manifest = root.join(dir);
        let cargo = std::fs::read_to_string(manifest.join("Cargo.toml")).unwrap();
        let dependencies = cargo.split("[dependencies]").nth(1).unwrap_or_default();
        for name in forbidden {
            assert!(!dependencies.contains(name), "{dir} depends on {name}");
        }
        let mut files = Vec::new();
        sources(&manifest.join("src"), &mut files);
        assert!(files.len() > 10, "{dir}'s sources were not found");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                assert!(
                    !code.contains("actix"),
                    "{}:{}: actix below the web layer",
                    file.display(),
                    number + 1
                );
            }
        }
    }
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

/// The server's sources and the crates below it, each with the module path its files
/// sit under (`kernel/jobs/sql.rs` is `crates/kernel/src/jobs/sql.rs`).
fn source_trees() -> [(PathBuf, &'static str); 3] {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        (root.join("src"), ""),
        (root.join("crates/tenancy/src"), "tenancy/"),
        (root.join("crates/kernel/src"), "kernel/"),
    ]
}

/// Every Rust file of the server and the crates below it, as its module path
/// (`kernel/jobs/sql.rs`) and its text.
fn src_files() -> Vec<(String, String)> {
    let mut named = Vec::new();
    for (tree, prefix) in source_trees() {
        let mut files = Vec::new();
        sources(&tree, &mut files);
        assert!(!files.is_empty(), "no sources under {}", tree.display());
        for file in files {
            let name = format!("{prefix}{}", file.strip_prefix(&tree).unwrap().display());
            named.push((name, std::fs::read_to_string(&file).unwrap()));
        }
    }
    named
}

/// `file:line` of every place in the server and the crates below it where `check`
/// finds something, files named in `skip` (as module paths: `kernel/jobs/sql.rs`)
/// aside.
fn found_in_src(check: fn(&str) -> Vec<usize>, skip: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, text) in src_files() {
        if skip.contains(&name.as_str()) {
            continue;
        }
        for line in check(&text) {
            found.push(format!("{name}:{line}"));
        }
    }
    found
}

/// `INSERT ... VALUES` statements in `text` that hold a subquery, which Citus refuses
/// ("subqueries are not supported within INSERT queries"), by line.
fn subqueries_in_insert_values(text: &str) -> Vec<usize> {
    // ASCII only: the same byte offsets as `text`, which the lines are counted in.
    let lower = text.to_ascii_lowercase();
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
    // ASCII only: the same byte offsets as `text`, which the lines are counted in.
    let lower = text.to_ascii_lowercase();
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
const MAY_NOTIFY: [(&str, &str); 5] = [
    (
        "tenancy/scoped.rs",
        "after the commit, as a statement of its own",
    ),
    (
        "kernel/jobs/places.rs",
        "a place given back across the fleet: after its delete, as a statement of its own",
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
/// `jobs::sql::CLAIM_SQL`). A scalar `= (select ... limit 1)` is estimated at one
/// row and passes.
fn bounded_sets_not_named_by_array(text: &str) -> Vec<usize> {
    // ASCII only: the same byte offsets as `text`, which the lines are counted in.
    let lower = text.to_ascii_lowercase();
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

/// Calls that wait on something outside PostgreSQL for as long as it takes: the file
/// store (a bucket, over the network), HTTP requests (webhooks, chat, a tenant's model
/// endpoint), SMTP, Redis, the malware scanner, the OCR tools. None belongs inside a
/// transaction: there it holds a pooled connection, and whatever the transaction
/// locked, while the outside answers (or hangs), so a bucket or a receiver that hangs
/// stalls every tenant's requests once the pool is taken.
const OUTBOUND_CALLS: &[&str] = &[
    "store.put(",
    "store.read(",
    "store.stream(",
    "store.copy_to(",
    "store.remove(",
    "store.list(",
    ".signed_link(",
    "remove_files(",
    ".send().await",
    "deliverer.send(",
    "mailer().send(",
    "session.send(",
    "smtp.send(",
    "call(generator",
    "query_async(",
    "publish_after(",
    "limiter.check(",
    "scan(clamd",
    "run(tool(",
];

/// The offset of the `}` that closes the `{` at `open` in `text`.
fn matching_brace(text: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (at, byte) in text.bytes().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// The functions of `text` with a body: name, where its signature starts, and where
/// its body opens and closes.
fn functions(text: &str) -> Vec<(String, usize, usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("fn ") {
        let start = from + at;
        from = start + 3;
        let word_before =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let Some(open) = text[start..].find('{').map(|o| start + o) else {
            break;
        };
        if word_before || text[start..open].contains(';') {
            continue;
        }
        let name: String = text[start + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.push((name, start, open, matching_brace(text, open)));
    }
    found
}

/// `text` in logical lines (a line that goes on a method chain joins the one before;
/// comment lines left out), each with its number and offset.
fn logical_lines(text: &str) -> Vec<(usize, usize, String)> {
    let mut logical: Vec<(usize, usize, String)> = Vec::new();
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        let trimmed = line.trim();
        match logical.last_mut() {
            Some((_, _, joined)) if trimmed.starts_with('.') => joined.push_str(trimmed),
            _ if trimmed.starts_with("//") => {}
            _ => logical.push((index + 1, offset, trimmed.to_owned())),
        }
        offset += line.len() + 1;
    }
    logical
}

/// Whether `line` calls the function `name` (not a method or another name ending so).
fn calls(line: &str, name: &str) -> bool {
    let call = format!("{name}(");
    line.match_indices(&call).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && !line[..at].ends_with("fn ")
    })
}

/// The functions of `texts` that make an [`OUTBOUND_CALLS`] call themselves, by name,
/// where the name is defined once in all of them: a call to one waits on the outside
/// as the call inside it does. A name defined twice (`send`, `new`) cannot be told
/// apart by reading, so it is left out; one level deep, as the helpers are.
fn outbound_helpers(texts: &[String]) -> Vec<String> {
    let mut defined: std::collections::HashMap<String, usize> = Default::default();
    let mut direct = Vec::new();
    for text in texts {
        let lines = logical_lines(text);
        for (name, _, open, close) in functions(text) {
            *defined.entry(name.clone()).or_default() += 1;
            let outbound = lines.iter().any(|(_, at, line)| {
                (open..=close).contains(at) && OUTBOUND_CALLS.iter().any(|call| line.contains(call))
            });
            if outbound {
                direct.push(name);
            }
        }
    }
    direct.retain(|name| defined[name] == 1);
    direct.sort();
    direct.dedup();
    direct
}

/// Lines of `text` that make an [`OUTBOUND_CALLS`] call, or call one of `helpers`,
/// inside a transaction: in a function that is handed one (its signature names
/// `TenantTx`), in a closure handed one (`async |tx`, as `reads::as_actor` runs), or
/// between a `.begin()` and the next `.commit()`. A method chain split over lines is
/// read as one line, reported at its first. A helper is seen one level deep and by a
/// name defined once ([`outbound_helpers`]); telling which function a shared name
/// calls takes the compiler.
fn outbound_inside_a_transaction(text: &str, helpers: &[String]) -> Vec<usize> {
    let mut spans = Vec::new();
    for (_, start, open, close) in functions(text) {
        if text[start..open].contains("TenantTx") {
            spans.push((open, close));
        }
        let mut at = open;
        while let Some(begin) = text[at..close].find(".begin()").map(|b| at + b) {
            let Some(commit) = text[begin..close].find(".commit()").map(|c| begin + c) else {
                break;
            };
            spans.push((begin, commit));
            at = commit;
        }
    }
    let mut from = 0;
    while let Some(at) = text[from..].find("async |tx") {
        let start = from + at;
        from = start + 1;
        if let Some(open) = text[start..].find('{').map(|o| start + o) {
            spans.push((open, matching_brace(text, open)));
        }
    }
    logical_lines(text)
        .into_iter()
        .filter(|(_, at, line)| {
            spans.iter().any(|(from, to)| from <= at && at <= to)
                && (OUTBOUND_CALLS.iter().any(|call| line.contains(call))
                    || helpers.iter().any(|helper| calls(line, helper)))
        })
        .map(|(number, _, _)| number)
        .collect()
}

#[test]
fn nothing_waits_on_the_outside_inside_a_transaction() {
    let files = src_files();
    let texts: Vec<String> = files.iter().map(|(_, text)| text.clone()).collect();
    let helpers = outbound_helpers(&texts);
    assert!(
        helpers.contains(&"installed_languages".to_owned()),
        "the helpers are found: {helpers:?}"
    );
    let wrong: Vec<String> = files
        .iter()
        .flat_map(|(name, text)| {
            outbound_inside_a_transaction(text, &helpers)
                .into_iter()
                .map(move |line| format!("{name}:{line}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "a call to the store, HTTP, the scanner or a tool inside a transaction; make it \
         before the transaction opens or after it commits: {wrong:?}"
    );
    // The check itself finds a call in a function handed a transaction, a chain over
    // lines, and a call between begin and commit; it passes one after the commit.
    let handed = "async fn store(tx: &TenantTx, store: &Store) -> Result<(), E> {\n\
                  \x20   tx.execute(\"insert\", &[]).await?;\n\
                  \x20   store\n\
                  \x20       .put(tenant, &name, &path)\n\
                  \x20       .await?;\n\
                  }";
    assert_eq!(outbound_inside_a_transaction(handed, &[]), [3]);
    let opened = "async fn attach(db: &TenantDb) {\n\
                  \x20   let tx = db.begin().await?;\n\
                  \x20   let sent = client.post(url).send().await?;\n\
                  \x20   tx.commit().await?;\n\
                  \x20   remove_files(&store, tenant, &ids).await;\n\
                  }";
    assert_eq!(outbound_inside_a_transaction(opened, &[]), [3]);
    let closure = "let at = as_actor(db, principal, async |tx, actor| {\n\
                   \x20   call(generator, url, model).await\n\
                   }).await?;";
    assert_eq!(outbound_inside_a_transaction(closure, &[]), [2]);
    // And a call to a helper that makes one, by its name, not a method or a longer
    // name that ends the same.
    let helper = "fn languages() -> Vec<String> {\n\
                  \x20   run(tool(\"tesseract\")).await\n\
                  }\n\
                  async fn put(tx: &TenantTx) {\n\
                  \x20   let known = languages().await;\n\
                  \x20   let other = tx.languages();\n\
                  \x20   let more = installed_languages();\n\
                  }";
    let helpers = outbound_helpers(&[helper.to_owned()]);
    assert_eq!(helpers, ["languages"]);
    assert_eq!(outbound_inside_a_transaction(helper, &helpers), [5]);
}

/// The import graph of one crate's files, read from its source: which file names which,
/// through `crate::`, `super::` and `self::` paths (grouped `use` trees expanded), with
/// names re-exported by a `pub use` followed to the file that defines them. A `pub use`
/// is a facade, not a dependency, so it makes no edge of its own.
mod graph {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::path::Path;

    pub struct File {
        /// `src/`-relative path, for messages.
        pub name: String,
        /// The module path, `["workflows", "engine"]`; `[]` for the crate root.
        pub module: Vec<String>,
        pub is_mod_rs: bool,
        /// Holds actix route handlers (`#[get(...)]` and the like).
        pub has_handlers: bool,
        /// Paths it names outside `pub use`, each with its line.
        uses: Vec<(usize, Vec<String>)>,
        /// `pub use` leaves: the name it exports -> the path it names.
        reexports: HashMap<String, Vec<String>>,
        /// Its own child module files.
        children: BTreeSet<String>,
    }

    pub struct Graph {
        pub files: Vec<File>,
        by_module: HashMap<Vec<String>, usize>,
    }

    /// An edge: from file, to file, at line.
    pub type Edge = (usize, usize, usize);

    /// Code without comments and string literals (their insides become blanks, lines
    /// stay where they were).
    fn code_only(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '/' if chars.peek() == Some(&'/') => {
                    for next in chars.by_ref() {
                        if next == '\n' {
                            out.push('\n');
                            break;
                        }
                    }
                }
                '"' => {
                    out.push(' ');
                    while let Some(next) = chars.next() {
                        match next {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            '\n' => out.push('\n'),
                            _ => {}
                        }
                    }
                }
                '\'' => {
                    // A char literal ('"', '\'', 'x') or a lifetime ('a).
                    let rest: String = chars.clone().take(3).collect();
                    if rest.starts_with('\\') {
                        chars.next();
                        chars.next();
                        if let Some('\'') = chars.peek() {
                            chars.next();
                        }
                    } else if rest.chars().nth(1) == Some('\'') {
                        chars.next();
                        chars.next();
                    }
                    out.push(' ');
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// Parses a use tree at `text[at..]` (after `prefix::`), returning every leaf path
    /// (the `as` alias, when there is one, as the leaf's exported name in `.1`).
    fn use_tree(
        text: &[u8],
        mut at: usize,
        prefix: Vec<String>,
    ) -> (Vec<(Vec<String>, String)>, usize) {
        let skip_blank = |at: &mut usize| {
            while *at < text.len() && (text[*at] as char).is_whitespace() {
                *at += 1;
            }
        };
        let ident = |at: &mut usize| {
            let start = *at;
            while *at < text.len() && (text[*at].is_ascii_alphanumeric() || text[*at] == b'_') {
                *at += 1;
            }
            String::from_utf8_lossy(&text[start..*at]).into_owned()
        };
        let mut path = prefix;
        let mut leaves = Vec::new();
        loop {
            skip_blank(&mut at);
            if at < text.len() && text[at] == b'{' {
                at += 1;
                loop {
                    skip_blank(&mut at);
                    if at < text.len() && text[at] == b'}' {
                        at += 1;
                        break;
                    }
                    let (inner, next) = use_tree(text, at, path.clone());
                    leaves.extend(inner);
                    at = next;
                    skip_blank(&mut at);
                    if at < text.len() && text[at] == b',' {
                        at += 1;
                    }
                }
                return (leaves, at);
            }
            if at < text.len() && text[at] == b'*' {
                leaves.push((path.clone(), "*".into()));
                return (leaves, at + 1);
            }
            let name = ident(&mut at);
            if name.is_empty() {
                if !path.is_empty() {
                    let last = path.last().cloned().unwrap_or_default();
                    leaves.push((path, last));
                }
                return (leaves, at);
            }
            path.push(name.clone());
            skip_blank(&mut at);
            if text[at..].starts_with(b"::") {
                at += 2;
                continue;
            }
            let mut exported = if name == "self" {
                path.pop();
                path.last().cloned().unwrap_or_default()
            } else {
                name
            };
            if text[at..].starts_with(b"as ") {
                at += 3;
                skip_blank(&mut at);
                exported = ident(&mut at);
            }
            leaves.push((path, exported));
            return (leaves, at);
        }
    }

    fn is_word_start(text: &[u8], at: usize) -> bool {
        at == 0
            || !(text[at - 1].is_ascii_alphanumeric()
                || text[at - 1] == b'_'
                || text[at - 1] == b':')
    }

    fn line_of(text: &[u8], at: usize) -> usize {
        text[..at].iter().filter(|b| **b == b'\n').count() + 1
    }

    impl File {
        fn read(root: &Path, path: &Path) -> Self {
            let relative = path.strip_prefix(root).unwrap();
            let name = relative.display().to_string();
            let mut module: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let file_name = module.last().cloned().unwrap_or_default();
            let is_mod_rs = file_name == "mod";
            if is_mod_rs || (module.len() == 1 && (file_name == "lib" || file_name == "main")) {
                module.pop();
            }
            let mut text = std::fs::read_to_string(path).unwrap();
            // A file's unit tests (`#[cfg(test)] mod tests`, at its end) name the file
            // itself through `super::`; they are not part of its dependencies.
            if let Some(at) = text.find("\n#[cfg(test)]\nmod ") {
                text.truncate(at);
            }
            let has_handlers = text.lines().any(|line| {
                let line = line.trim_start();
                ["#[get(", "#[post(", "#[put(", "#[patch(", "#[delete("]
                    .iter()
                    .any(|m| line.starts_with(m))
            });
            let code = code_only(&text);
            let bytes = code.as_bytes();
            let mut uses = Vec::new();
            let mut reexports = HashMap::new();
            let mut children = BTreeSet::new();
            // `use` statements, grouped trees included; `pub use` are re-exports.
            let mut at = 0;
            while let Some(found) = code[at..].find("use ") {
                let start = at + found;
                at = start + 4;
                if !is_word_start(bytes, start) {
                    continue;
                }
                let before = code[..start].trim_end();
                let public = before.ends_with("pub") || before.ends_with(')');
                let (leaves, end) = use_tree(bytes, at, Vec::new());
                at = end.max(at);
                let line = line_of(bytes, start);
                for (path, exported) in leaves {
                    if public {
                        reexports.insert(exported, path);
                    } else {
                        uses.push((line, path));
                    }
                }
            }
            // Paths written inline: `crate::a::b(...)`, `super::engine::x`.
            for root_word in ["crate::", "super::", "self::"] {
                for (start, _) in code.match_indices(root_word) {
                    if !is_word_start(bytes, start) {
                        continue;
                    }
                    let line_start = code[..start].rfind('\n').map_or(0, |n| n + 1);
                    if code[line_start..start].trim_start().starts_with("use ")
                        || code[line_start..start].contains("use ")
                    {
                        continue;
                    }
                    let (leaves, _) = use_tree(bytes, start, Vec::new());
                    for (path, _) in leaves {
                        uses.push((line_of(bytes, start), path));
                    }
                }
            }
            // Paths through a name brought in by a `use`: `use super::engine;` and then
            // `engine::stage_due(..)`, `use crate::contracts;` and then
            // `contracts::created(..)`.
            let aliases: Vec<(String, Vec<String>)> = uses
                .iter()
                .filter_map(|(_, path)| {
                    let last = path.last()?;
                    (last != "*" && last != "self").then(|| (last.clone(), path.clone()))
                })
                .collect();
            for (alias, target) in aliases {
                let pattern = format!("{alias}::");
                for (start, _) in code.match_indices(&pattern) {
                    if !is_word_start(bytes, start) {
                        continue;
                    }
                    let (leaves, _) = use_tree(bytes, start + pattern.len(), target.clone());
                    for (path, _) in leaves {
                        uses.push((line_of(bytes, start), path));
                    }
                }
            }
            for line in code.lines() {
                let line = line.trim();
                let declared = line
                    .strip_prefix("pub mod ")
                    .or_else(|| line.strip_prefix("mod "))
                    .or_else(|| line.strip_prefix("pub(crate) mod "));
                if let Some(rest) = declared {
                    if let Some(child) = rest.strip_suffix(';') {
                        children.insert(child.trim().to_owned());
                    }
                }
            }
            Self {
                name,
                module,
                is_mod_rs,
                has_handlers,
                uses,
                reexports,
                children,
            }
        }
    }

    impl Graph {
        pub fn read(root: &Path) -> Self {
            let mut paths = Vec::new();
            super::sources(root, &mut paths);
            paths.sort();
            let files: Vec<File> = paths.iter().map(|path| File::read(root, path)).collect();
            let by_module = files
                .iter()
                .enumerate()
                .map(|(index, file)| (file.module.clone(), index))
                .collect();
            Self { files, by_module }
        }

        /// The absolute module path `path` names from inside `file`.
        fn absolute(&self, file: &File, path: &[String]) -> Option<Vec<String>> {
            let (first, rest) = path.split_first()?;
            let mut base = match first.as_str() {
                "crate" => Vec::new(),
                "self" => file.module.clone(),
                "super" => {
                    let mut parent = file.module.clone();
                    parent.pop()?;
                    parent
                }
                name if file.children.contains(name) => {
                    let mut own = file.module.clone();
                    own.push(name.to_owned());
                    return self.absolute_rest(own, rest);
                }
                _ => return None,
            };
            let mut rest = rest;
            while let Some(("super", after)) = rest.split_first().map(|(s, a)| (s.as_str(), a)) {
                base.pop()?;
                rest = after;
            }
            self.absolute_rest(base, rest)
        }

        fn absolute_rest(&self, mut base: Vec<String>, rest: &[String]) -> Option<Vec<String>> {
            base.extend(rest.iter().cloned());
            Some(base)
        }

        /// The file that defines what an absolute path names, following re-exports.
        fn resolve(&self, mut path: Vec<String>) -> Option<usize> {
            for _ in 0..8 {
                let (file, depth) = (0..=path.len())
                    .rev()
                    .find_map(|n| self.by_module.get(&path[..n]).map(|&f| (f, n)))?;
                let Some(name) = path.get(depth) else {
                    return Some(file);
                };
                let Some(target) = self.files[file].reexports.get(name) else {
                    return Some(file);
                };
                let mut next = self.absolute(&self.files[file], target)?;
                next.extend(path[depth + 1..].iter().cloned());
                if next == path {
                    return Some(file);
                }
                path = next;
            }
            None
        }

        /// Every file -> file reference (a file naming itself left out).
        pub fn edges(&self) -> Vec<Edge> {
            let mut edges = BTreeSet::new();
            for (index, file) in self.files.iter().enumerate() {
                for (line, path) in &file.uses {
                    let Some(absolute) = self.absolute(file, path) else {
                        continue;
                    };
                    if let Some(target) = self.resolve(absolute) {
                        if target != index {
                            edges.insert((index, target, *line));
                        }
                    }
                }
            }
            edges.into_iter().collect()
        }

        /// Groups of files that reach each other (strongly connected, more than one).
        pub fn cycles(nodes: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
            let mut next: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
            for &(from, to) in edges {
                next.entry(from).or_default().insert(to);
            }
            let reach = |start: usize| {
                let mut seen = BTreeSet::from([start]);
                let mut todo = vec![start];
                while let Some(at) = todo.pop() {
                    for &to in next.get(&at).into_iter().flatten() {
                        if seen.insert(to) {
                            todo.push(to);
                        }
                    }
                }
                seen
            };
            let reached: Vec<BTreeSet<usize>> = (0..nodes).map(reach).collect();
            let mut groups = BTreeSet::new();
            for a in 0..nodes {
                let group: Vec<usize> = (0..nodes)
                    .filter(|&b| reached[a].contains(&b) && reached[b].contains(&a))
                    .collect();
                if group.len() > 1 {
                    groups.insert(group);
                }
            }
            groups.into_iter().collect()
        }
    }
}

/// Cycles between files, cycles between areas, a file without handlers naming one
/// with handlers, and an area naming another area's handler file (a re-export
/// followed), in the crate rooted at `root`.
fn shape_violations(root: &Path) -> Vec<String> {
    let graph = graph::Graph::read(root);
    let edges = graph.edges();
    let files = &graph.files;
    let mut wrong = Vec::new();
    let pairs: Vec<(usize, usize)> = edges.iter().map(|&(a, b, _)| (a, b)).collect();
    for group in graph::Graph::cycles(files.len(), &pairs) {
        let names: Vec<&str> = group.iter().map(|&f| files[f].name.as_str()).collect();
        wrong.push(format!("files import each other: {}", names.join(" <-> ")));
    }
    let top = |f: usize| files[f].module.first().cloned().unwrap_or_default();
    let areas: Vec<String> = LAYERS[AREAS].iter().map(|a| (*a).to_owned()).collect();
    let area_edges: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|&(a, b, _)| {
            let from = areas.iter().position(|x| *x == top(a))?;
            let to = areas.iter().position(|x| *x == top(b))?;
            (from != to).then_some((from, to))
        })
        .collect();
    for group in graph::Graph::cycles(areas.len(), &area_edges) {
        let names: Vec<&str> = group.iter().map(|&a| areas[a].as_str()).collect();
        let mut witnesses = Vec::new();
        for &(a, b, line) in &edges {
            let (from, to) = (top(a), top(b));
            if from != to && names.contains(&from.as_str()) && names.contains(&to.as_str()) {
                witnesses.push(format!("{}:{line} -> {}", files[a].name, files[b].name));
            }
        }
        wrong.push(format!(
            "areas import each other: {} ({})",
            names.join(" <-> "),
            witnesses.join(", ")
        ));
    }
    for &(a, b, line) in &edges {
        let (from, to) = (&files[a], &files[b]);
        if !from.has_handlers
            && from.module.first() != Some(&"app".to_owned())
            && !from.is_mod_rs
            && to.has_handlers
        {
            wrong.push(format!(
                "{}:{line}: a file without handlers imports {}, which has handlers; move \
                 what it needs into the model or the service",
                from.name, to.name
            ));
        }
        if top(a) != top(b) && areas.contains(&top(a)) && to.has_handlers {
            wrong.push(format!(
                "{}:{line}: area `{}` reaches into `{}`'s handlers ({}); call its service",
                from.name,
                top(a),
                top(b),
                to.name
            ));
        }
    }
    wrong
}

#[test]
fn no_import_cycles_and_no_logic_leaning_on_handlers() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut wrong = Vec::new();
    for root in [
        manifest.join("src"),
        manifest.join("crates/tenancy/src"),
        manifest.join("crates/kernel/src"),
        manifest.join("tenantctl/src"),
    ] {
        for violation in shape_violations(&root) {
            wrong.push(format!(
                "{}: {violation}",
                root.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(wrong.is_empty(), "shape violations:\n{}", wrong.join("\n"));
}

#[test]
fn the_shape_check_catches_cycles_re_exports_and_logic_on_handlers() {
    let scratch = std::env::temp_dir().join(format!("pactum-shape-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let write = |path: &str, text: &str| {
        let path = scratch.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    // Two files of one area that import each other, one through `super::` and one
    // through a grouped `use` tree and an alias.
    write(
        "workflows/mod.rs",
        "pub mod engine;\npub mod timers;\npub use engine::start;\n",
    );
    write(
        "workflows/engine.rs",
        "use super::{model, timers};\npub fn start() { timers::schedule(); }\n",
    );
    write(
        "workflows/timers.rs",
        "pub fn schedule() { super::engine::start(); }\n",
    );
    // A service that takes its types from a handler file, and an area that reaches
    // another's handlers through a re-export.
    write(
        "contracts/mod.rs",
        "pub mod routes;\npub mod service;\npub use routes::created;\n",
    );
    write(
        "contracts/routes.rs",
        "#[post(\"/x\")]\npub async fn create() {}\npub fn created() {}\npub struct View;\n",
    );
    write(
        "contracts/service.rs",
        "use super::routes::View;\npub fn insert() { crate::clauses::service::category(); }\n",
    );
    // Areas that import each other.
    write("clauses/mod.rs", "pub mod service;\n");
    write(
        "clauses/service.rs",
        "use crate::contracts;\npub fn category() { contracts::created(); }\n",
    );
    // A unit test naming its own file through `super::` is no cycle.
    write("teams/mod.rs", "pub mod model;\n");
    write(
        "teams/model.rs",
        "pub fn name() {}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
    );
    let wrong = shape_violations(&scratch);
    std::fs::remove_dir_all(&scratch).unwrap();
    let has = |needle: &str| wrong.iter().any(|w| w.contains(needle));
    assert!(
        has("files import each other: workflows/engine.rs <-> workflows/timers.rs"),
        "{wrong:#?}"
    );
    assert!(
        has("areas import each other: contracts <-> clauses"),
        "{wrong:#?}"
    );
    assert!(
        has("contracts/service.rs:1: a file without handlers imports contracts/routes.rs"),
        "{wrong:#?}"
    );
    assert!(
        has("clauses/service.rs:2: area `clauses` reaches into `contracts`'s handlers"),
        "{wrong:#?}"
    );
    assert!(!has("teams"), "{wrong:#?}");
}

/// Area files that hold handlers and SQL together, each with its reason. A handler file
/// otherwise only parses, calls a service and answers; its SQL lives in the service.
const HANDLERS_WITH_SQL: [(&str, &str); 3] = [
    (
        "identity/routes.rs",
        "logging in, refreshing, logging out, `me`: what only an HTTP client does",
    ),
    (
        "identity/user_routes.rs",
        "changing one's own password, as logging in",
    ),
    (
        "attachments/routes.rs",
        "streaming a file download: its row, then the file, in the handler",
    ),
];

/// Lines of `text` that send SQL or read through the role-checked helpers.
fn sql_lines(text: &str) -> Vec<usize> {
    let markers = [
        "read_as(",
        "read_one_as(",
        "\"select ",
        "\"insert into",
        "\"update ",
        "\"delete from",
        ".query(",
        ".query_one(",
        ".query_opt(",
        ".execute(",
    ];
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            !code.starts_with("//") && markers.iter().any(|m| code.contains(m))
        })
        .map(|(number, _)| number + 1)
        .collect()
}

#[test]
fn area_handlers_hold_no_sql() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph::Graph::read(&src);
    let allowed: Vec<&str> = HANDLERS_WITH_SQL.iter().map(|(file, _)| *file).collect();
    let mut wrong = Vec::new();
    let mut stale = Vec::new();
    for file in &graph.files {
        let area = file.module.first().map(String::as_str).unwrap_or_default();
        if !file.has_handlers || !LAYERS[AREAS].contains(&area) {
            continue;
        }
        let text = std::fs::read_to_string(src.join(&file.name)).unwrap();
        let found = sql_lines(&text);
        match (found.is_empty(), allowed.contains(&file.name.as_str())) {
            (false, false) => wrong.push(format!("{}:{}", file.name, found[0])),
            (true, true) => stale.push(file.name.clone()),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "SQL in a handler file; move it into the area's service: {wrong:?}"
    );
    assert!(
        stale.is_empty(),
        "no SQL left in these handler files; take them off HANDLERS_WITH_SQL: {stale:?}"
    );
    // The check itself finds one, and passes over a comment.
    let sample = "// \"select 1\" in a comment\nlet row = tx.query_one(\"select 1\", &[]).await?;";
    assert_eq!(sql_lines(sample), [2]);
}

/// Lines of `text` that read a job's stored arguments by hand.
fn hand_read_job_args(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            !code.starts_with("//") && code.contains("job.args")
        })
        .map(|(number, _)| number + 1)
        .collect()
}

#[test]
fn jobs_are_typed_no_handler_reads_its_arguments_by_hand() {
    let queue = [
        "kernel/jobs/mod.rs",
        "kernel/jobs/runner.rs",
        "kernel/jobs/enqueue.rs",
        "kernel/jobs/typed.rs",
        "kernel/jobs/periodic.rs",
        "kernel/jobs/admin.rs",
    ];
    let wrong = found_in_src(hand_read_job_args, &queue);
    assert!(
        wrong.is_empty(),
        "job arguments read by hand; make the job a `BackgroundJob` and register it with \
         `Handlers::register_job`: {wrong:?}"
    );
    let sample = "let id = ctx.job.args[\"grant_id\"].as_str();\n// job.args in a comment";
    assert_eq!(hand_read_job_args(sample), [1]);
}

/// Past this many lines a file says at its top why it is one file.
const LONG_FILE_LINES: usize = 650;

/// Rust files of `roots` longer than [`LONG_FILE_LINES`] whose opening comment does not
/// say why they are long.
fn long_files_without_a_reason(roots: &[PathBuf]) -> Vec<String> {
    let mut files = Vec::new();
    for root in roots {
        sources(root, &mut files);
    }
    let mut wrong = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count();
        let opening: String = text
            .lines()
            .take_while(|line| line.starts_with("//") || line.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        if lines > LONG_FILE_LINES && !opening.contains("Why this file is long") {
            wrong.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    wrong.sort();
    wrong
}

/// A file that grows past about 600 lines either splits along its concerns or says at
/// its top why it is one; the reason is read by the next person who would split it.
#[test]
fn long_files_say_why_they_are_one_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let roots: Vec<PathBuf> = ["src", "crates", "tenantctl", "tests", "benches"]
        .iter()
        .map(|dir| root.join(dir))
        .collect();
    let wrong = long_files_without_a_reason(&roots);
    assert!(
        wrong.is_empty(),
        "split these or say at their top why they are one file (\"Why this file is long\"):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_length_check_catches_a_long_file_without_a_reason() {
    let dir = std::env::temp_dir().join(format!("pactum-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = "fn f() {}\n".repeat(LONG_FILE_LINES + 1);
    std::fs::write(dir.join("short.rs"), "//! Short.\nfn f() {}\n").unwrap();
    std::fs::write(dir.join("long.rs"), format!("//! Long.\n{body}")).unwrap();
    std::fs::write(
        dir.join("explained.rs"),
        format!("//! Long.\n//!\n//! Why this file is long: a reason.\n{body}"),
    )
    .unwrap();
    let wrong = long_files_without_a_reason(std::slice::from_ref(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(wrong.len(), 1, "{wrong:#?}");
    assert!(wrong[0].contains("long.rs"), "{wrong:#?}");
}

/// Lines of `text` that work a timer out from the tenant's zone or reminder settings
/// (`zone_and_defaults(`) in a file that schedules timers (`.at(`) but walks none of
/// them again when those settings change (no `impl Walk for`).
fn timers_that_ignore_new_settings(text: &str) -> Vec<usize> {
    let code: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .collect();
    let schedules = code.iter().any(|(_, line)| line.contains(".at("));
    let walks = code.iter().any(|(_, line)| line.contains("impl Walk for"));
    if !schedules || walks {
        return Vec::new();
    }
    code.iter()
        .filter(|(_, line)| {
            line.contains("zone_and_defaults(") && !line.contains("fn zone_and_defaults")
        })
        .map(|(number, _)| number + 1)
        .collect()
}

#[test]
fn timers_worked_out_from_settings_follow_their_changes() {
    let wrong = found_in_src(timers_that_ignore_new_settings, &[]);
    assert!(
        wrong.is_empty(),
        "timers worked out from the tenant's settings that keep the old ones when they \
         change; implement `kernel::jobs::Walk` for their records and register \
         `Walking<...>` and its reaction: {wrong:?}"
    );
    let stale = "let (zone, d) = zone_and_defaults(tx).await?;\njobs.push(job.at(when));";
    assert_eq!(timers_that_ignore_new_settings(stale), [1]);
    let walked = format!("{stale}\nimpl Walk for Dated {{}}");
    assert!(timers_that_ignore_new_settings(&walked).is_empty());
}

/// The string literal of `text` around byte `at`: from after the quote before it to
/// the quote after it (SQL in the sources is one literal per statement, its own text
/// quoting with `'`).
fn enclosing_literal(text: &str, at: usize) -> (usize, usize) {
    let start = text[..at].rfind('"').map_or(0, |n| n + 1);
    let end = text[at..].find('"').map_or(text.len(), |n| at + n);
    (start, end)
}

/// The first expression a statement in `segment` sorts by (`order by`), as written.
fn first_sort_expression(segment: &str) -> Option<&str> {
    let start = segment.rfind("order by ")? + "order by ".len();
    let mut depth = 0;
    for (at, c) in segment[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(segment[start..start + at].trim()),
            ')' => depth -= 1,
            ',' | ' ' | '\\' if depth == 0 => return Some(&segment[start..start + at]),
            _ => {}
        }
    }
    Some(segment[start..].trim())
}

/// Lines of `text` where a list's bound on its own sort key hides behind an optional
/// parameter (`$4::timestamptz is null or (created_at, id) > ($4, $5)`). The plan a
/// cached statement may settle on (PostgreSQL's generic plan) cannot make such a bound
/// the range of an index: it reads every row before the cursor and filters them, so a
/// deep page costs the whole list. A first page binds a bound before every row
/// instead (`coalesce($4, '-infinity')`), which every plan reads as a range.
fn optional_bounds_on_the_sort_key(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(" is null or ") {
        let start = from + at;
        from = start + " is null or ".len();
        let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
        if text[line_start..start].trim_start().starts_with("//") {
            continue;
        }
        let parameter = text[..start].rsplit([' ', '(']).next().unwrap_or("");
        if !parameter.starts_with('$') {
            continue;
        }
        let (literal_start, literal_end) = enclosing_literal(text, start);
        let Some(sort) = first_sort_expression(&text[literal_start..literal_end]) else {
            continue;
        };
        let bound = text[from..literal_end].trim_start_matches('(');
        let clause = bound.split(['\n']).next().unwrap_or("");
        let compares = clause
            .replace("<>", "")
            .replace("@>", "")
            .replace("<@", "")
            .replace("->", "")
            .contains(['<', '>']);
        if !sort.is_empty() && bound.starts_with(sort) && compares {
            found.push(text[..start].matches('\n').count() + 1);
        }
    }
    found
}

#[test]
fn keyset_bounds_are_ranges_in_every_plan() {
    let wrong = found_in_src(optional_bounds_on_the_sort_key, &[]);
    assert!(
        wrong.is_empty(),
        "a list's bound on its sort key behind `$n is null or`, which a generic plan \
         reads as a filter over every row before the cursor; bind a bound before every \
         row on the first page (`coalesce($n, '-infinity')`): {wrong:?}"
    );
    let samples = [
        ("\"where ($3::int is null or page > $3) order by page limit $2\"", vec![1]),
        (
            "\"where a = $1 \\\n and ($4::timestamptz is null or (created_at, id) < ($4, $5)) \\\n \
             order by created_at desc, id desc\"",
            vec![2],
        ),
        ("\"where page > coalesce($3::int, 0) order by page limit $2\"", vec![]),
        ("\"where ($1::text is null or category = $1) order by category, id\"", vec![]),
        (
            "\"where ($6::timestamptz is null or due_at < $6) \
             order by coalesce(due_at, 'infinity'), id\"",
            vec![],
        ),
        ("\"where (held_until is null or held_until <= $2) order by held_until\"", vec![]),
    ];
    for (sample, lines) in samples {
        assert_eq!(optional_bounds_on_the_sort_key(sample), lines, "{sample}");
    }
}

/// Statements that match a batch of keys (`unnest($n)`) against a table by a condition
/// evaluated pair by pair, listed with what bounds the keys.
const KEYS_MATCHED_PAIR_BY_PAIR: [(&str, &str); 1] = [(
    "workflows/engine.rs",
    "a stage's approvers, at most `MAX_APPROVERS` (50), against the tenant's users",
)];

/// Lines of `text` where a batch of keys (`unnest($n...)`) is joined to a table by a
/// condition no hash and no index can serve: a correlated `exists` or an `or` in the
/// join's `on`. PostgreSQL can only nest loops over such a join, evaluating it for
/// every pair of key and row: 2,000 keys against 20,000 records took 40 to 90 s.
fn keys_matched_pair_by_pair(text: &str) -> Vec<usize> {
    // ASCII only: the same byte offsets as `text`, which the lines are counted in.
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find(" join ") {
        let start = from + at;
        from = start + " join ".len();
        let (literal_start, literal_end) = enclosing_literal(&lower, start);
        if !lower[literal_start..literal_end].contains("unnest($") {
            continue;
        }
        let Some(on) = lower[from..literal_end].find(" on ") else {
            continue;
        };
        let condition_start = from + on + " on ".len();
        let condition_end = [" join ", " where ", " group by ", " order by "]
            .iter()
            .filter_map(|end| lower[condition_start..literal_end].find(end))
            .min()
            .map_or(literal_end, |end| condition_start + end);
        let condition = &lower[condition_start..condition_end];
        if condition.contains("exists") || condition.contains(" or ") {
            found.push(text[..start].matches('\n').count() + 1);
        }
    }
    found
}

#[test]
fn key_batches_are_matched_by_a_hash_or_an_index() {
    let listed: Vec<&str> = KEYS_MATCHED_PAIR_BY_PAIR.iter().map(|(f, _)| *f).collect();
    let wrong = found_in_src(keys_matched_pair_by_pair, &listed);
    assert!(
        wrong.is_empty(),
        "a batch of keys joined by a condition evaluated for every pair of key and row; \
         match on equality (side by side in a lateral list, or through an indexed column \
         of keys), or list the file with what bounds its keys: {wrong:?}"
    );
    for (file, _) in KEYS_MATCHED_PAIR_BY_PAIR {
        assert!(
            found_in_src(keys_matched_pair_by_pair, &[])
                .iter()
                .any(|at| at.starts_with(&format!("{file}:"))),
            "{file} no longer matches pair by pair: take it off the list"
        );
    }
    let samples = [
        (
            "\"select k, c.id from unnest($1::text[]) k join contacts c \\\n \
             on exists(select 1 from unnest(c.emails) e where lower(e) = k)\"",
            vec![1],
        ),
        (
            "\"select k from unnest($1::text[]) k join t on t.a = k or t.b = k where t.x\"",
            vec![1],
        ),
        (
            "\"select k from unnest($1::text[]) k left join t on t.keys @> array[k] group by k\"",
            vec![],
        ),
        (
            "\"select 1 from a join b on a.x = b.x or a.y = b.y\"",
            vec![],
        ),
    ];
    for (sample, lines) in samples {
        assert_eq!(keys_matched_pair_by_pair(sample), lines, "{sample}");
    }
}

/// Lists whose statement keeps a switch on a parameter, listed with why no index
/// depends on it.
const LISTS_WITH_SWITCHES: [(&str, &str); 1] = [(
    "contracts/calendar.rs",
    "whose restricted originals' tasks a reader sees: the dates' indexes narrow the \
     calendar, the switch only drops rows among them",
)];

/// Whether `operand`, one side of an `or`, is a switch on a parameter alone:
/// `$5::uuid is null`, `${n} is null`, `not $4`, `$1 = 'all'`.
fn is_parameter_switch(operand: &str) -> bool {
    let operand = operand.trim();
    let operand = operand.strip_prefix("not ").unwrap_or(operand);
    let Some(rest) = operand.strip_prefix('$') else {
        return false;
    };
    let rest = match rest.strip_prefix('{') {
        Some(named) => match named.find('}') {
            Some(end) => &named[end + 1..],
            None => return false,
        },
        None => rest.trim_start_matches(|c: char| c.is_ascii_digit()),
    };
    let rest = match rest.strip_prefix("::") {
        Some(typed) => typed.trim_start_matches(|c: char| c.is_alphanumeric() || "_[]".contains(c)),
        None => rest,
    };
    rest.is_empty()
        || rest == " is null"
        || (rest.starts_with(" = '") && rest.ends_with('\'') && rest.len() > 4)
}

/// Lines of `text` where a list (a statement that sorts or pages its rows) turns a
/// filter on and off with its parameter: `($5::uuid is null or owner_id = $5)`,
/// `(not $4 or overdue)`, `($1 = 'all' or status = $1)`. The plan PostgreSQL may
/// settle on for a cached statement (the generic plan, made without the values) must
/// serve both positions of the switch, so it can use no index the filter names and
/// filters the list in its sort order instead: a selective filter then reads the whole
/// list. A filter not given is left out of the statement (`Filter::push_some`), which
/// makes each combination a statement of its own.
fn lists_switched_by_a_parameter(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(" or ") {
        let start = from + at;
        from = start + " or ".len();
        let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
        if text[line_start..start].trim_start().starts_with("//") {
            continue;
        }
        let (literal_start, literal_end) = enclosing_literal(text, start);
        let literal = &text[literal_start..literal_end];
        if !literal.contains("order by ") && !literal.contains("limit $") {
            continue;
        }
        let operand_start = ["(", " and ", "where "]
            .iter()
            .filter_map(|open| {
                text[literal_start..start]
                    .rfind(open)
                    .map(|n| n + open.len())
            })
            .max()
            .map_or(literal_start, |n| literal_start + n);
        if is_parameter_switch(&text[operand_start..start]) {
            found.push(text[..start].matches('\n').count() + 1);
        }
    }
    found
}

#[test]
fn lists_leave_out_the_filters_not_given() {
    let listed: Vec<&str> = LISTS_WITH_SWITCHES.iter().map(|(f, _)| *f).collect();
    let wrong = found_in_src(lists_switched_by_a_parameter, &listed);
    assert!(
        wrong.is_empty(),
        "a list switching a filter on and off with a parameter, which a generic \
         plan can serve with no index of the filter; leave a filter not given out of the \
         statement (`Filter::push_some`), or list the file with why no index depends on \
         it: {wrong:?}"
    );
    for (file, _) in LISTS_WITH_SWITCHES {
        assert!(
            found_in_src(lists_switched_by_a_parameter, &[])
                .iter()
                .any(|at| at.starts_with(&format!("{file}:"))),
            "{file} no longer switches a filter: take it off the list"
        );
    }
    let samples = [
        (
            "\"select 1 from t where ($5::uuid is null or owner_id = $5) \\\n limit $2\"",
            vec![1],
        ),
        (
            "\"where a = $1 and (not $4 or overdue) limit $6 offset $7\"",
            vec![1],
        ),
        (
            "\"where ($1 = 'all' or t.status = $1) \\\n order by id limit ${limit}\"",
            vec![1],
        ),
        (
            "\"where (${n} is null or x = ${n}) limit ${limit}\"",
            vec![1],
        ),
        ("\"where owner_id = $5 and (a or b) limit $2\"", vec![]),
        (
            "\"where (held_until is null or held_until <= $2) limit $3\"",
            vec![],
        ),
        (
            "\"select ($1::uuid is null or exists(select 1 from users where id = $1))\"",
            vec![],
        ),
        (
            "\"where ($3::uuid is null or c.id <> $3) limit 10\"",
            vec![],
        ),
        (
            "\"where $1::uuid is null or tenant_id = $1 group by k order by k\"",
            vec![1],
        ),
    ];
    for (sample, lines) in samples {
        assert_eq!(lists_switched_by_a_parameter(sample), lines, "{sample}");
    }
}

/// Where Rust's own lowercasing stays, listed with why no database compares what it
/// makes (a path ending in `/` lists a folder).
const LOWERCASED_IN_RUST_ONLY: [(&str, &str); 6] = [
    (
        "intelligence/",
        "the words of contracts' text, compared in the server",
    ),
    (
        "invoices/mailing.rs",
        "the addresses one mail goes to, told apart in the server",
    ),
    (
        "imports/service.rs",
        "a file's column names, matched to the server's own",
    ),
    (
        "kernel/sensitive/removed.rs",
        "the words a redacted copy would give away",
    ),
    (
        "kernel/language.rs",
        "the common words a text's language is told by",
    ),
    ("kernel/letters.rs", "`fold_case` itself, letter by letter"),
];

/// Lines of `text` that lower-case with Rust's `to_lowercase`. A key compared with
/// PostgreSQL's `lower()` must fold as the database does, letter by letter
/// (`kernel::letters::fold_case`): Rust's own makes the dotted capital I two letters
/// and a final sigma `ς`, so "İstanbul Lojistik" could not be named in an import.
fn lowercased_in_rust(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| line.contains(".to_lowercase()") || line.contains("str::to_lowercase"))
        .map(|(at, _)| at + 1)
        .collect()
}

#[test]
fn keys_fold_case_as_the_database_does() {
    let listed = |at: &String| {
        LOWERCASED_IN_RUST_ONLY
            .iter()
            .any(|(path, _)| at.starts_with(path))
    };
    let found = found_in_src(lowercased_in_rust, &[]);
    let wrong: Vec<&String> = found.iter().filter(|at| !listed(at)).collect();
    assert!(
        wrong.is_empty(),
        "text lower-cased with Rust's `to_lowercase`; fold a key the database compares \
         with `kernel::letters::fold_case`, or list the file with why nothing compares \
         it there: {wrong:?}"
    );
    for (path, _) in LOWERCASED_IN_RUST_ONLY {
        assert!(
            found.iter().any(|at| at.starts_with(path)),
            "{path} no longer lower-cases in Rust: take it off the list"
        );
    }
    let sample = "let k = name.trim().to_lowercase();\n// .to_lowercase() in a comment\n\
                  .map(str::to_lowercase)\nlet a = x.to_ascii_lowercase();";
    assert_eq!(lowercased_in_rust(sample), [1, 3]);
}

/// Where a list sorts by a name without a collation, listed with why the database's
/// own order is right there.
const NAMES_IN_BYTE_ORDER: [(&str, &str); 1] = [(
    "teams/service.rs",
    "team names are keys (a-z, 0-9, _ and -), the same in every collation",
)];

/// Lines of `text` where a statement sorts by a name or a title (`name`, `c.title`,
/// `lower(o.name)`, `u.display_name`) without naming a collation. Such a sort follows
/// the database's collation, which is `C` in the project's clusters: code points, so
/// "Österreich" came after "Zürich". A list by name sorts in
/// `kernel::query::NAME_COLLATION` (through `name_order`), its index in the same; an
/// order nobody reads says `collate "C"`.
fn names_sorted_without_a_collation(text: &str) -> Vec<usize> {
    // ASCII only: the same byte offsets as `text`, which the lines are counted in.
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("order by ") {
        let start = from + at + "order by ".len();
        from = start;
        let (_, literal_end) = enclosing_literal(text, start);
        let clause = &lower[start..literal_end];
        let mut expressions = Vec::new();
        let (mut depth, mut begun) = (0, 0);
        for (at, c) in clause.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    expressions.push(&clause[begun..at]);
                    begun = clause.len();
                    break;
                }
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    expressions.push(&clause[begun..at]);
                    begun = at + 1;
                }
                _ => {}
            }
        }
        if begun < clause.len() {
            expressions.push(&clause[begun..]);
        }
        for expression in expressions {
            let expression = expression.replace("\\\n", " ");
            let expression = expression.trim();
            let expression = [" limit ", " offset ", " for "]
                .iter()
                .filter_map(|end| expression.find(end))
                .min()
                .map_or(expression, |end| &expression[..end]);
            if expression.contains("collate") {
                continue;
            }
            let column = expression
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_start_matches("lower(")
                .trim_end_matches(')');
            let column = column.rsplit('.').next().unwrap_or(column);
            if matches!(column, "name" | "title" | "display_name") {
                found.push(text[..start].matches('\n').count() + 1);
                break;
            }
        }
    }
    found
}

#[test]
fn names_sort_as_people_read_them() {
    let listed = |at: &String| {
        NAMES_IN_BYTE_ORDER
            .iter()
            .any(|(path, _)| at.starts_with(path))
    };
    let found = found_in_src(names_sorted_without_a_collation, &[]);
    let wrong: Vec<&String> = found.iter().filter(|at| !listed(at)).collect();
    assert!(
        wrong.is_empty(),
        "a sort by name in the database's collation (code points under `C`); sort by \
         `kernel::query::name_order` with an index on the same, or say `collate \"C\"` \
         for an order nobody reads: {wrong:?}"
    );
    for (path, _) in NAMES_IN_BYTE_ORDER {
        assert!(
            found.iter().any(|at| at.starts_with(path)),
            "{path} no longer sorts names without a collation: take it off the list"
        );
    }
    let sample = "\"select a from t order by lower(name), id limit $1\"\n\
                  \"select a from t order by category, lower(c.title) collate \\\"und-x-icu\\\", id\"\n\
                  \"group by u.display_name order by u.display_name nulls last\"\n\
                  \"select a from t order by {order} limit 2\"\n\
                  \"select x, percentile_cont(0.5) within group (order by extract(epoch from d)) \
                  from t order by created_at desc, c.title\"\n\
                  \"select name from p order by name collate \\\"C\\\"\"";
    assert_eq!(names_sorted_without_a_collation(sample), [1, 3, 5]);
}

/// The maps and sets a process keeps across requests and jobs, and its thread-local
/// statics, each with what it is keyed by and why that never carries one tenant's data
/// to another. Such state is where
/// tenants can meet in one process (a compiled rule cached by its definition's id alone
/// was served to another tenant holding a copy of that definition), so a new one is
/// listed here with its reason before the suite passes.
const PROCESS_WIDE_MAPS: [(&str, &str, &str); 10] = [
    ("intelligence/terms/read.rs", "US_USAGE", "one document's date usage, cleared at the start of every `terms::extract`, which reads one text without awaiting"),
    ("workflows/matching.rs", "COMPILED", "compiled rules keyed by tenant, definition and version"),
    ("notifications/stream.rs", "streams", "open streams keyed by tenant and user; a message goes to its own tenant's recipient only"),
    ("webhooks/delivery.rs", "in_flight", "counts of deliveries in flight by destination: numbers only, shared on purpose (a destination's cap counts every tenant)"),
    ("tenancy/connection.rs", "ParamTypes", "parameter types by statement text: types, no data; work enters only schemas at this release's version (ENTERS_A_TENANTS_SCHEMA), which have the same columns"),
    ("tenancy/connection/warmth.rs", "Warmth", "the schemas a connection has served: names used to place requests, no data"),
    ("tenancy/resolver.rs", "entries", "host to tenant: the resolution itself"),
    ("kernel/jobs/places.rs", "waiting", "deliveries waiting by destination: job ids only, the cap shared across tenants on purpose"),
    ("kernel/jobs/shares.rs", "held", "running jobs counted by tenant"),
    ("kernel/jobs/runner.rs", "running", "running jobs by id in `public.jobs`, one queue for every tenant"),
];

/// Maps and sets held behind a lock (a process's shared state) and thread-local statics
/// (a thread's, which outlives the request it served) in `text`: the line and the name
/// of the static, field or tuple struct holding each.
fn process_wide_maps(text: &str) -> Vec<(usize, String)> {
    let shared = ["Mutex<", "RwLock<"];
    let collections = ["HashMap<", "HashSet<", "BTreeMap<", "BTreeSet<"];
    let mut in_thread_local = false;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter_map(|(number, line)| {
            if line.contains("thread_local!") {
                in_thread_local = true;
            } else if in_thread_local && line.trim() == "}" {
                in_thread_local = false;
            }
            if in_thread_local {
                let (_, rest) = line.split_once("static ")?;
                return Some((number + 1, rest.split(':').next()?.trim().to_owned()));
            }
            let lock = shared.iter().filter_map(|s| line.find(s)).min()?;
            let after = line[lock..].split_once('<')?.1;
            let after = after.trim_start_matches("std::collections::");
            if !collections.iter().any(|c| after.starts_with(c)) {
                return None;
            }
            let declared = line.trim_start();
            let name = if let Some((_, rest)) = declared.split_once("static ") {
                rest.split(':').next()?
            } else if let Some((_, rest)) = declared.split_once("struct ") {
                rest.split(['(', '<', ' ']).next()?
            } else {
                declared.split(':').next()?.rsplit(' ').next()?
            };
            Some((number + 1, name.trim().to_owned()))
        })
        .collect()
}

#[test]
fn state_shared_by_tenants_in_one_process_says_how_it_keeps_them_apart() {
    let mut found = Vec::new();
    for (module, text) in src_files() {
        for (line, name) in process_wide_maps(&text) {
            found.push((module.clone(), name, line));
        }
    }
    let unlisted: Vec<String> = found
        .iter()
        .filter(|(module, name, _)| {
            !PROCESS_WIDE_MAPS
                .iter()
                .any(|(m, n, _)| m == module && n == name)
        })
        .map(|(module, name, line)| format!("{module}:{line} {name}"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "state kept across requests, not listed in PROCESS_WIDE_MAPS with what it is keyed \
         by; key it by tenant, or say why no tenant's data can reach another through it: \
         {unlisted:?}"
    );
    let stale: Vec<_> = PROCESS_WIDE_MAPS
        .iter()
        .filter(|(m, n, _)| {
            !found
                .iter()
                .any(|(module, name, _)| module == m && name == n)
        })
        .collect();
    assert!(stale.is_empty(), "listed but no longer there: {stale:?}");
    let sample = "// static CACHE: Mutex<HashMap<u8, u8>>\n\
                  static CACHE: LazyLock<Mutex<HashMap<Uuid, Rule>>> = x;\n\
                  struct Seen(RwLock<std::collections::HashSet<String>>);\n\
                  \x20   pub(crate) held: Arc<Mutex<BTreeMap<Uuid, usize>>>,\n\
                  \x20   queue: Mutex<VecDeque<u8>>,\n\
                  thread_local! {\n\
                  \x20   static LAST: Cell<u8> = const { Cell::new(0) };\n\
                  }";
    assert_eq!(
        process_wide_maps(sample),
        [
            (2, "CACHE".to_owned()),
            (3, "Seen".to_owned()),
            (4, "held".to_owned()),
            (7, "LAST".to_owned())
        ]
    );
}

/// Lines of `text` that decide by the machine's clock: `now()` in SQL, or chrono's
/// `Utc::now()`, compared with `<` or `>` (a grant's expiry, a deadline). Time is
/// injectable: such a decision takes the unit's clock (`unit::now`, bound as a
/// parameter), as the grant's expiry, the tokens and every timer do, so that a server
/// and its tests judge by the clock they were given. Writing a timestamp (`updated_at =
/// now()`), a monotonic `Instant::now()` and a clock's own `.now()` are not decisions.
fn decisions_by_the_machines_clock(text: &str) -> Vec<usize> {
    let compared = |before: &str, after: &str| {
        let before = before.trim_end();
        let after = after.trim_start();
        before.ends_with(['<', '>']) || before.ends_with("<=") || after.starts_with(['<', '>'])
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| {
            line.match_indices("now()").any(|(at, _)| {
                let before = &line[..at];
                let by_a_clock = before.ends_with('.') || before.ends_with("Instant::");
                !by_a_clock && compared(before.trim_end_matches("Utc::"), &line[at + 5..])
            })
        })
        .map(|(number, _)| number + 1)
        .collect()
}

/// What `check` finds in files not in `listed` (as `file:line`), and the listed files
/// in which it no longer finds anything.
fn outside_the_list<'a>(
    check: fn(&str) -> Vec<usize>,
    listed: &[(&'a str, &str)],
) -> (Vec<String>, Vec<&'a str>) {
    let files: Vec<&str> = listed.iter().map(|(file, _)| *file).collect();
    let outside = found_in_src(check, &files);
    let everywhere = found_in_src(check, &[]);
    let stale = files
        .into_iter()
        .filter(|file| {
            !everywhere
                .iter()
                .any(|at| at.starts_with(&format!("{file}:")))
        })
        .collect();
    (outside, stale)
}

/// Where the server may read the machine's clock itself, and why.
const READS_THE_MACHINES_CLOCK: [(&str, &str); 4] = [
    ("kernel/clock.rs", "the system clock itself"),
    (
        "kernel/unit.rs",
        "a handle with nothing attached (tools, tenancy-level tests) has no other clock",
    ),
    (
        "kernel/tokens.rs",
        "`unix_now` for tools and benchmarks; the server reads its clock's own",
    ),
    (
        "kernel/storage.rs",
        "a scratch file's age: the file system stamps it by the machine's clock",
    ),
];

/// The lines of `text` outside its tests and comments, numbered from 1.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(index, line)| (index + 1, line))
}

/// Lines of `text`, outside its tests, that read the machine's clock rather than the
/// one the server was given: `Utc::now`, `Local::now`, `SystemTime::now` or the
/// free `unix_now()`.
fn machine_clock_reads(text: &str) -> Vec<usize> {
    code_lines(text)
        .filter(|(_, line)| {
            ["Utc::now", "Local::now", "SystemTime::now"]
                .iter()
                .any(|read| line.contains(read))
                || line
                    .match_indices("unix_now(")
                    .any(|(at, _)| !line[..at].ends_with('.'))
        })
        .map(|(number, _)| number)
        .collect()
}

#[test]
fn decisions_in_time_take_the_units_clock() {
    let wrong = found_in_src(decisions_by_the_machines_clock, &[]);
    assert!(
        wrong.is_empty(),
        "decided by the machine's clock; bind `unit::now(tx)` instead: {wrong:?}"
    );
    let (reads, stale) = outside_the_list(machine_clock_reads, &READS_THE_MACHINES_CLOCK);
    assert!(
        reads.is_empty(),
        "the machine's clock read where the server's belongs (`unit::now(tx)`, \
         `state.clock`); or list the file in READS_THE_MACHINES_CLOCK with why: {reads:?}"
    );
    assert!(
        stale.is_empty(),
        "listed but no longer reading the machine's clock: {stale:?}"
    );
    let reads_sample = "let now = Utc::now();\n\
                        unit.map_or_else(Utc::now, |u| u.clock.now())\n\
                        if exp <= unix_now() {\n\
                        let now = self.clock.unix_now();\n\
                        // Utc::now() in a comment\n\
                        #[cfg(test)]\n\
                        let start = Utc::now();";
    assert_eq!(machine_clock_reads(reads_sample), [1, 2, 3]);
    let sample = "\"where g.expires_at > now()\"\n\
                  \"set updated_at = now() where id = $1\"\n\
                  if Utc::now() >= deadline {\n\
                  if clock.now() > deadline {\n\
                  while Instant::now() < deadline {\n\
                  \"and now() <= expires_at\"\n\
                  // \"expires_at > now()\" in a comment";
    assert_eq!(decisions_by_the_machines_clock(sample), [1, 3, 6]);
}

/// Every place that opens work in a tenant's schema, and how it knows the schema is at
/// the version this binary's statements are written for (a schema behind it, during a
/// migration, or ahead of it, a newer release's, would fail them half-way).
const ENTERS_A_TENANTS_SCHEMA: [(&str, &str); 7] = [
    ("web/tenant.rs", "a request's: the middleware answers `tenant_migrating` for a schema at another version first"),
    ("web/idempotency.rs", "a middleware inside the tenant's, which has checked the version"),
    ("kernel/jobs/runner.rs", "a job's: claims take only jobs of tenants at the runner's `tenant_schema_version`"),
    ("tenancy/scoped.rs", "the unit of work itself; whoever makes a `TenantDb` checks (the entries above)"),
    ("tenancy/provision.rs", "a schema built or a spare claimed at this release's version, and `create_admin` refusing any other"),
    ("tenancy/fleet.rs", "the migration: it brings the schema to the version"),
    ("tenancy/isolation.rs", "the isolation check: reads as the tenant's role, writes nothing"),
];

/// Lines of `text`, outside its tests, that make a tenant's unit of work or point a
/// transaction at a schema.
fn tenant_schema_entries(text: &str) -> Vec<usize> {
    code_lines(text)
        .filter(|(_, line)| {
            let lower = line.to_lowercase();
            line.contains("TenantDb::new(")
                || lower.contains("search_path to")
                || lower.contains("set_config('search_path'")
        })
        .map(|(number, _)| number)
        .collect()
}

/// Where a signed token's user is taken at its word, and how the session behind it is
/// checked there: not logged out (`revoked_access_tokens`), the user active, the
/// session not ended by a password change or a deactivation (the token's `gen` still
/// the user's `session_generation`).
const HONOURS_A_TOKEN: [(&str, &str); 6] = [
    ("web/tenant.rs", "`AuthUser`: the signature and the tenant; its `principal()` carries the token's id and session, which every handler's `Actor::resolve` or `read_as` checks"),
    ("web/idempotency.rs", "resolves the actor with the token's id and session before answering from a kept response"),
    ("identity/routes.rs", "`me` reads the user with the token's session generation and logout"),
    ("identity/user_routes.rs", "the password change resolves the actor (the session checked) before it uses the id"),
    ("notifications/routes.rs", "a stream checks its credential and session at open, before every notification and at every heartbeat"),
    ("notifications/stream.rs", "a stream's credential keeps the token's session for those checks"),
];

/// Lines of `text`, outside its tests, that take a token's claims as who asks.
fn token_honoured(text: &str) -> Vec<usize> {
    code_lines(text)
        .filter(|(_, line)| {
            line.contains("verified_claims(")
                || line.contains("claims.sub")
                || line.contains("Credential::of(")
        })
        .map(|(number, _)| number)
        .collect()
}

#[test]
fn a_token_is_honoured_only_where_its_session_is_checked() {
    let (unlisted, stale) = outside_the_list(token_honoured, &HONOURS_A_TOKEN);
    assert!(
        unlisted.is_empty(),
        "a token's claims taken as who asks without saying how its session is checked \
         (logout, deactivation, a password change); resolve the actor with its \
         `principal()` (or check as the listed places do) and list the file in \
         HONOURS_A_TOKEN: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "listed but no longer honouring a token: {stale:?}"
    );
    let sample = "let claims = verified_claims(req, &state)?;\n\
                  let owner = claims.sub;\n\
                  let credential = Credential::of(&user.claims);\n\
                  // claims.sub in a comment\n\
                  let user = user.principal();\n\
                  #[cfg(test)]\n\
                  let owner = claims.sub;";
    assert_eq!(token_honoured(sample), [1, 2, 3]);
}

/// Lines of `text`, outside its tests, that check a password in a function that has
/// not spent the login budget first: every way to guess a password is rate limited.
fn unlimited_password_checks(text: &str) -> Vec<usize> {
    let mut limited = false;
    let mut found = Vec::new();
    for (number, line) in code_lines(text) {
        let code = line.trim_start();
        if [
            "fn ",
            "pub fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) async fn ",
        ]
        .iter()
        .any(|start| code.starts_with(start))
        {
            limited = false;
        }
        limited |= code.contains("login_limiter.check(");
        if code.contains("password::verify(") && !limited {
            found.push(number);
        }
    }
    found
}

#[test]
fn every_password_check_spends_the_login_budget() {
    let unlimited = found_in_src(unlimited_password_checks, &[]);
    assert!(
        unlimited.is_empty(),
        "a password checked without `login_limiter.check` first allows unlimited \
         guesses: {unlimited:?}"
    );
    let sample = "pub async fn login() {\n\
                  state.login_limiter.check(tenant, &email).await?;\n\
                  password::verify(&p, &h)\n\
                  }\n\
                  pub async fn change() {\n\
                  password::verify(&p, &h)\n\
                  // password::verify( in a comment\n\
                  }";
    assert_eq!(unlimited_password_checks(sample), [6]);
}

#[test]
fn work_enters_a_tenants_schema_only_at_this_releases_version() {
    let (unlisted, stale) = outside_the_list(tenant_schema_entries, &ENTERS_A_TENANTS_SCHEMA);
    assert!(
        unlisted.is_empty(),
        "work opened in a tenant's schema without saying how it knows the schema is at \
         this release's version; check it (as the middleware and the job claim do) and \
         list the file in ENTERS_A_TENANTS_SCHEMA: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "listed but no longer entering a schema: {stale:?}"
    );
    let sample = "let db = TenantDb::new(pool, id, &schema, None);\n\
                  \"BEGIN; SET LOCAL search_path TO {schema}, public\"\n\
                  \"select set_config('search_path', $1, true)\"\n\
                  // TenantDb::new( in a comment\n\
                  let path = current_search_path();\n\
                  #[cfg(test)]\n\
                  let db = TenantDb::new(pool, id, &schema, None);";
    assert_eq!(tenant_schema_entries(sample), [1, 2, 3]);
}
