//! Every read of a contract's text, of an attached file, or of what hangs off a contract
//! and can quote it (comments, tasks, activities, file names) passes the redaction
//! guard. A redacted contract's original is kept from readers below the tenant's role
//! (`src/attachments/originals.rs`); a new read that forgets the guard would hand it
//! back. This reads the server's sources and fails when a function that reads a
//! contract's body (its row, its versions), a file's extracted pages, the stored file
//! itself, a comment's, task's or activity's text or a file's name neither applies the
//! guard nor is listed below as reading for Pactum itself (jobs, writes that return
//! nothing of the text) with the reason. The check has a test proving it can fail.

use std::path::PathBuf;

use crate::layers::sources;

/// What reads a contract's text or a file's content.
const READS_ORIGINAL: [&str; 15] = [
    "select {CONTRACT_COLUMNS}",
    "from obligation_tasks",
    "from contract_suggestions",
    "from contract_risk",
    "from contract_passages",
    "body from contract_versions",
    "from attachment_pages",
    "StoredName::original(",
    "StoredName::searchable_pdf(",
    "select body from contracts",
    // What hangs off a contract and can quote its text: comments, tasks, activities.
    "{COLUMNS} from comments",
    "into comments",
    "{TASK_COLUMNS}",
    "{ACTIVITY_COLUMNS}",
    // A file's name can quote it too.
    "AttachmentView::from",
];

/// What applies the guard, and the helpers that apply it for their callers.
const GUARDED_BY: [&str; 10] = [
    "sources_for(",
    "originals::",
    "Guard::from_rows",
    ".shielded(",
    "shield(",
    "require_original(",
    "Reader::",
    ".only_owner()",
    "readable(",
    "reading::searchable_pdf(",
];

/// Functions that read an original for Pactum itself or never return its text, with why.
const UNGUARDED: [(&str, &str, &str); 26] = [
    (
        "intelligence/passage_words.rs",
        "language_sql",
        "the SQL of a passage's language, which reads languages and no text; its callers guard",
    ),
    (
        "intelligence/tasks/remind.rs",
        "run",
        "the reminder jobs' statements of a task (and the ids of open tasks their walk reschedules), run as the system; a reminder carries the sentence's words only when the contract shows no redacted copy",
    ),
    (
        "intelligence/indexing.rs",
        "reassess_if_weighed",
        "lists which contracts have passages (their ids, no text) to weigh them again, as the system",
    ),
    (
        "intelligence/tasks.rs",
        "keep",
        "the obligation job compares what it read with the tasks it stored, as the system",
    ),

    (
        "intelligence/classify.rs",
        "standard_distances",
        "the risk job's comparison with the standard clauses, run as the system; its findings are stored and read through the risk guard",
    ),
    (
        "workflows/matching.rs",
        "source",
        "trigger rules read a contract's risk level, never a finding's sentence",
    ),
    (
        "intelligence/risk.rs",
        "assess_risk",
        "the risk job reads the level it is replacing, as the system",
    ),
    (
        "intelligence/suggestions.rs",
        "keep",
        "the term extraction job compares what it read with what it stored, as the system",
    ),
    (
        "intelligence/indexing.rs",
        "stale_batch",
        "the sweep job lists which contracts to read again, as the system",
    ),
    (
        "intelligence/search.rs",
        "similar",
        "its `prepare` refuses a reader the contract's original is kept from first",
    ),
    (
        "intelligence/indexing.rs",
        "embed_contract",
        "the embedding job reads the text, as the system",
    ),
    (
        "attachments/reading.rs",
        "run",
        "the text job reads the file, as the system",
    ),
    (
        "attachments/reading.rs",
        "text_of",
        "an import's reaction reads the text, as the system",
    ),
    (
        "attachments/ocr.rs",
        "assemble",
        "the OCR job joins the searchable PDF, as the system",
    ),
    (
        "contracts/service.rs",
        "lock_contract",
        "locks the row for a write, whose answer is shielded",
    ),
    (
        "attachments/ocr.rs",
        "original_on_disk",
        "the OCR job fetches the scan, as the system",
    ),
    (
        "attachments/ocr.rs",
        "finish",
        "the OCR job sums the recognised pages to record the outcome, as the system",
    ),
    (
        "attachments/ocr.rs",
        "run",
        "the OCR jobs read pages and remove a searchable PDF nobody keeps, as the system",
    ),
    (
        "attachments/service.rs",
        "drop",
        "removes a file whose upload did not complete",
    ),
    (
        "attachments/service.rs",
        "put_in_store",
        "writes an upload's bytes into the store for the uploader, reading nothing back",
    ),
    (
        "activities/reminders.rs",
        "fire",
        "the task timers' statement, run as the system; the notification it leads to masks the title for a recipient the contract's original is kept from",
    ),
    (
        "activities/tasks.rs",
        "lock_editable",
        "locks a task for a write, whose answer is masked",
    ),
    (
        "activities/tasks.rs",
        "make_next",
        "copies a repeating task into its next occurrence and hands it to the audit and \
         the assignee as a creation does; the answer is the done task's, masked",
    ),
    (
        "attachments/service.rs",
        "delete",
        "its route answers 204: the view only names the files to remove",
    ),
    (
        "activities/log.rs",
        "delete",
        "locks an entry to delete it and answers nothing",
    ),
    (
        "attachments/language.rs",
        "restem",
        "tells each page's language from its words; no text leaves it",
    ),
];

/// The functions of `text` (their name and whole text, by the column-0 or impl-level
/// `fn` lines that start them), attributes and doc comments left out.
fn functions(text: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let starts_fn = indent <= 4
            && [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(super) async fn ",
                "pub(crate) async fn ",
                "pub(super) fn ",
                "pub(crate) fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
        if starts_fn {
            let name = trimmed
                .split("fn ")
                .nth(1)
                .unwrap_or_default()
                .split(['(', '<'])
                .next()
                .unwrap_or_default()
                .to_owned();
            found.push((name, String::new()));
        }
        if let Some((_, body)) = found.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    found
}

/// `file: fn` of every function in `text` that reads an original unguarded.
fn unguarded(file: &str, text: &str) -> Vec<String> {
    functions(text)
        .into_iter()
        .filter(|(_, body)| READS_ORIGINAL.iter().any(|r| body.contains(r)))
        .filter(|(_, body)| !GUARDED_BY.iter().any(|g| body.contains(g)))
        .filter(|(name, _)| !UNGUARDED.iter().any(|(f, n, _)| *f == file && n == name))
        .map(|(name, _)| format!("{file}: {name}"))
        .collect()
}

#[test]
fn every_read_of_a_contracts_text_or_file_passes_the_redaction_guard() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        if name.starts_with("attachments/originals.rs") {
            continue;
        }
        found.extend(unguarded(&name, &std::fs::read_to_string(&file).unwrap()));
    }
    assert!(
        found.is_empty(),
        "these read a contract's text or file without the redaction guard \
         (src/attachments/originals.rs); apply it, or list them with the reason: {found:#?}"
    );
    let stale: Vec<_> = UNGUARDED
        .iter()
        .filter(|(file, name, _)| {
            let text = std::fs::read_to_string(src.join(file)).unwrap_or_default();
            !functions(&text).iter().any(|(n, body)| {
                n == name
                    && READS_ORIGINAL.iter().any(|r| body.contains(r))
                    && !GUARDED_BY.iter().any(|g| body.contains(g))
            })
        })
        .collect();
    assert!(
        stale.is_empty(),
        "listed but no longer unguarded reads: {stale:#?}"
    );
}

#[test]
fn the_guard_check_catches_a_read_that_forgets_it() {
    let forgot = "pub async fn export(db: &TenantDb, id: Uuid) -> Result<String, E> {\n    \
                  let sql = format!(\"select {CONTRACT_COLUMNS} from contracts where id = $1\");\n    \
                  todo!()\n}\n";
    assert_eq!(
        unguarded("contracts/export.rs", forgot),
        ["contracts/export.rs: export"]
    );
    let guarded = forgot.replace("todo!()", "view.shielded(guard, &actor)");
    assert!(unguarded("contracts/export.rs", &guarded).is_empty());
    let tasks = "pub async fn due(db: &TenantDb) -> Vec<TaskView> {\n    \
                 let sql = format!(\"select {TASK_COLUMNS} from tasks\");\n    todo!()\n}\n";
    assert_eq!(
        unguarded("activities/due.rs", tasks),
        ["activities/due.rs: due"]
    );
    let masked = tasks.replace("todo!()", "originals::mask_read(db, principal, tasks)");
    assert!(unguarded("activities/due.rs", &masked).is_empty());
    let file = "pub fn serve() {\n    let n = StoredName::original(id);\n}\n";
    assert_eq!(
        unguarded("attachments/x.rs", file),
        ["attachments/x.rs: serve"]
    );
}
