//! Lists paged by key read only their page, in any plan PostgreSQL settles on for a
//! cached statement. The server's pool runs every cached statement in its generic plan
//! (`PoolStrategy::generic_plans`), and PostgreSQL's own default may choose one after
//! five runs: a plan made without the parameters' values. In it a bound written as
//! `$4 is null or (created_at, id) > ($4, $5)` is a filter over every row before the
//! cursor, so reading a whole list page by page cost the square of its length (3,000
//! comments read 100 at a time: 46,529 rows read instead of 3,029). Here every
//! statement is forced to its generic plan, the whole list is read page by page
//! through the list's own service, and the rows PostgreSQL read are counted from its
//! statistics.
//!
//! The same plans once served a filtered list badly: written
//! `($5::uuid is null or parent_id = $5)`, a filter can use no index in a plan that
//! must also serve its absence, so 30 matches among 3,000 accounts read all 3,000. A
//! filter not given is now left out of the statement, and the filtered lists below
//! read about their matches.
//!
//! Why this file is long: every list is checked by the same harness (one connection,
//! forced plans, rows read from PostgreSQL's statistics), and its rows are made beside
//! the check that counts them.

use pactum::contracts;
use pactum::contracts::model::CONTRACT_TARGET;
use pactum::contracts::ContractView;
use pactum::kernel::page::Page;
use pactum::kernel::page::PageRequest;
use pactum::kernel::target::Target;
use pactum::kernel::{Actor, DomainError, Origin, Principal, Role};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::scoped::TenantDb;
use serde_json::json;
use uuid::Uuid;

use crate::app::{tenant_with_admin, PASSWORD};
use crate::support::TestDb;

const ROWS: i64 = 3_000;
const PAGE: i64 = 100;

/// The tenant's database through one connection (so statistics and cached statements
/// are that one backend's), opened with `options`.
async fn one_connection(db: &TestDb, options: &str) -> TenantDb {
    let url = DatabaseUrl::parse(&format!("{} {options}", db.url), "pactum-tests").unwrap();
    let pool = RequestPool::new(&url, 1, Pooler::None).unwrap();
    crate::app::tenant_db(db, "acme", pool).await
}

/// The same, with every cached statement running its generic plan.
async fn generic_plans_only(db: &TestDb) -> TenantDb {
    one_connection(db, "options='-c plan_cache_mode=force_generic_plan'").await
}

/// Rows of `table` read so far (by index and by scan), once the one backend has
/// flushed what it counted.
async fn rows_read(tenant: &TenantDb, table: &str) -> i64 {
    let tx = tenant.begin().await.unwrap();
    tx.query("select pg_stat_force_next_flush()", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tx = tenant.begin().await.unwrap();
    let read: i64 = tx
        .query_one(
            "select (select coalesce(sum(idx_tup_read), 0) from pg_stat_user_indexes \
                     where schemaname = 't_acme' and relname = $1)::int8 \
                  + (select coalesce(seq_tup_read, 0) from pg_stat_user_tables \
                     where schemaname = 't_acme' and relname = $1)",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    tx.commit().await.unwrap();
    read
}

/// The page request of a list read [`PAGE`] rows at a time.
fn page_at(cursor: Option<String>) -> PageRequest {
    PageRequest::parse(Some(PAGE), cursor.as_deref(), PAGE).unwrap()
}

/// Reads a whole list page by page (`list` gets each page's cursor), checking it hands
/// out `rows` rows, and answers how many rows of `table` PostgreSQL read for it.
async fn read_whole<T, F>(tenant: &TenantDb, table: &str, rows: i64, list: F) -> i64
where
    F: AsyncFn(Option<String>) -> Result<Page<T>, DomainError>,
{
    let before = rows_read(tenant, table).await;
    let (mut cursor, mut seen, mut pages) = (None::<String>, 0, 0);
    loop {
        let page = list(cursor.take()).await.unwrap();
        seen += page.items.len() as i64;
        pages += 1;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, rows, "{table}: rows handed out");
    assert_eq!(pages, (rows + PAGE - 1) / PAGE, "{table}: pages");
    rows_read(tenant, table).await - before
}

/// The tenant `acme` under generic plans only, its admin (who owns what the tests
/// make) and a contract of theirs.
async fn tenant_with_a_contract(db: &TestDb) -> (TenantDb, Uuid, ContractView) {
    tenant_with_admin(db, "acme", PASSWORD).await;
    let tenant = generic_plans_only(db).await;
    let owner: Uuid = db
        .client()
        .await
        .query_one("select id from t_acme.users", &[])
        .await
        .unwrap()
        .get(0);
    let tx = tenant.begin().await.unwrap();
    let contract = contracts::insert_contract(
        &tx,
        &Principal::System("test"),
        &Origin::job(1, "test"),
        serde_json::from_value(json!({
            "title": "Long thread", "contract_type": "nda", "body": "x", "owner_id": owner
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (tenant, owner, contract)
}

#[tokio::test]
async fn reading_a_whole_list_by_pages_reads_each_row_about_once_in_generic_plans() {
    let db = TestDb::migrated().await;
    let (tenant, _, contract) = tenant_with_a_contract(&db).await;
    let client = db.client().await;
    let system = Principal::System("test");

    client
        .batch_execute(&format!(
            "insert into t_acme.comments (target_kind, target_id, body, created_at) \
                 select 'contract', '{id}', 'comment ' || i, now() + i * interval '1 ms' \
                 from generate_series(1, {ROWS}) i;
             insert into t_acme.contract_versions (contract_id, version, title, body, created_by) \
                 select contract_id, v, title, body, created_by \
                 from t_acme.contract_versions, generate_series(2, {ROWS}) v \
                 where contract_id = '{id}';
             insert into t_acme.audit_logs (action, entity, actor_kind) \
                 select 'update', 'contract', 'system' from generate_series(1, {ROWS}) \
                 offset (select count(*) from t_acme.audit_logs);
             analyze t_acme.comments; analyze t_acme.contract_versions; \
             analyze t_acme.audit_logs;",
            id = contract.id
        ))
        .await
        .unwrap();

    let target = Target::new(&CONTRACT_TARGET, contract.id);
    let comments = read_whole(&tenant, "comments", ROWS, async |cursor| {
        pactum::comments::service::list(&tenant, &system, target, &page_at(cursor)).await
    })
    .await;
    let versions = read_whole(&tenant, "contract_versions", ROWS, async |cursor| {
        contracts::versions::list(&tenant, &system, contract.id, &page_at(cursor)).await
    })
    .await;
    let audit_query = serde_json::from_value(json!({})).unwrap();
    let audit = read_whole(&tenant, "audit_logs", ROWS, async |cursor| {
        pactum::audit::log::list(&tenant, &system, &audit_query, &page_at(cursor)).await
    })
    .await;
    // Each page reads its rows and the one after; a bound read as a filter would read
    // every row before the cursor: about ROWS * ROWS / (2 * PAGE), 45,000 here.
    for (table, read) in [
        ("comments", comments),
        ("contract_versions", versions),
        ("audit_logs", audit),
    ] {
        assert!(
            read <= 2 * ROWS,
            "{table}: {read} rows read to page through {ROWS}"
        );
    }
}

/// Lists read unfiltered read each page from the index of their order, which the leads
/// list lacked (every page sorted all of the tenant's leads: 90,000 rows read for
/// 3,000) and the clause library had only in part (by category: each page read its
/// category's every clause to sort them by title). A list by name sorts in its own
/// collation (`kernel::query::NAME_COLLATION`), which an index must name too: without
/// it every page of accounts sorted them all. Read in the plans PostgreSQL chooses for
/// itself.
#[tokio::test]
async fn lists_read_only_their_pages_in_the_plans_postgresql_chooses() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let tenant = one_connection(&db, "options='-c plan_cache_mode=auto'").await;
    db.client()
        .await
        .batch_execute(&format!(
            "insert into t_acme.leads (name, created_at) \
                 select 'Lead ' || i, now() - i * interval '1 minute' \
                 from generate_series(1, {ROWS}) i;
             insert into t_acme.counterparties (name) \
                 select 'Account ' || i from generate_series(1, {ROWS}) i;
             insert into t_acme.clauses (title, category, body) \
                 select 'Clause ' || i, (array['payment', 'liability', 'termination'])[1 + i % 3], \
                        'Text ' || i \
                 from generate_series(1, {ROWS}) i;
             insert into t_acme.contacts (name) select 'Contact ' || i from generate_series(1, {ROWS}) i;
             insert into t_acme.opportunities (name, account_id, stage, currency) \
                 select 'Deal ' || i, (select id from t_acme.counterparties limit 1), \
                        (select min(key) from t_acme.pipeline_stages), 'EUR' \
                 from generate_series(1, {ROWS}) i;
             insert into t_acme.templates (name, contract_type, body) \
                 select 'Template ' || i, (select min(key) from t_acme.contract_types), 'Body' \
                 from generate_series(1, {ROWS}) i;
             analyze t_acme.leads; analyze t_acme.counterparties; analyze t_acme.clauses;
             analyze t_acme.contacts; analyze t_acme.opportunities; analyze t_acme.templates;"
        ))
        .await
        .unwrap();
    let system = Principal::System("test");
    let leads = read_whole(&tenant, "leads", ROWS, async |cursor| {
        let unfiltered = Default::default();
        pactum::leads::service::list(&tenant, &system, &unfiltered, &page_at(cursor)).await
    })
    .await;
    let accounts = read_whole(&tenant, "counterparties", ROWS, async |cursor| {
        let unfiltered = Default::default();
        pactum::counterparties::service::list(&tenant, &system, &unfiltered, &page_at(cursor)).await
    })
    .await;
    let clauses = read_whole(&tenant, "clauses", ROWS, async |cursor| {
        pactum::clauses::service::list(&tenant, &system, None, &page_at(cursor)).await
    })
    .await;
    let contacts = read_whole(&tenant, "contacts", ROWS, async |cursor| {
        let unfiltered = Default::default();
        pactum::counterparties::service::list_contacts(
            &tenant,
            &system,
            &unfiltered,
            &page_at(cursor),
        )
        .await
    })
    .await;
    let opportunities = read_whole(&tenant, "opportunities", ROWS, async |cursor| {
        let unfiltered = Default::default();
        pactum::pipeline::service::list(&tenant, &system, &unfiltered, &page_at(cursor)).await
    })
    .await;
    let templates = read_whole(&tenant, "templates", ROWS, async |cursor| {
        pactum::templates::service::list(&tenant, &system, &page_at(cursor)).await
    })
    .await;
    for (table, read) in [
        ("leads", leads),
        ("counterparties", accounts),
        ("clauses", clauses),
        ("contacts", contacts),
        ("opportunities", opportunities),
        ("templates", templates),
    ] {
        assert!(
            read <= 2 * ROWS,
            "{table}: {read} rows read to page through {ROWS}"
        );
    }
}

/// Matches of each filter below: one row in a hundred.
const MATCHES: i64 = ROWS / 100;

/// Rows of the tenant for the filtered lists: of each table [`ROWS`], of which every
/// hundredth matches each filter (on the owner, on the first account rather than the
/// second, on the contract, in a rarer status), and obligation tasks of two statuses.
fn filtered_rows(owner: Uuid, contract: Uuid, record: Uuid) -> String {
    let rare = "i % 100 = 0";
    format!(
        "insert into t_acme.counterparties (name, owner_id) \
             select 'Account ' || i, case when {rare} then '{owner}'::uuid end \
             from generate_series(1, {ROWS}) i;
         create temporary table accounts as \
             select (select id from t_acme.counterparties where name = 'Account 1') as first, \
                    (select id from t_acme.counterparties where name = 'Account 2') as second;
         update t_acme.counterparties set parent_id = (select first from accounts) \
             where substr(name, 9)::int % 100 = 0;
         insert into t_acme.users (email, display_name) values ('rare@example.com', 'Rare');
         insert into t_acme.contracts (title, contract_type, owner_id, counterparty_id, \
                 created_at) \
             select 'Contract ' || i, 'nda', \
                    case when {rare} \
                         then (select id from t_acme.users where email = 'rare@example.com') \
                         else '{owner}'::uuid end, \
                    case when {rare} then a.first else a.second end, \
                    now() - i * interval '1 minute' \
             from generate_series(1, {ROWS}) i, accounts a;
         insert into t_acme.workflow_runs (contract_id, definition_version, definition_name, \
                 allow_self_approval, contract_version, round, state, started_at) \
             values ('{contract}', 1, 'Review', false, 1, 1, 'running', now());
         insert into t_acme.workflow_stages (run_id, sequence, name, approval_type, \
                 is_required, spec, state) \
             select id, 1, 'Legal', 'any', true, '{{}}', 'active' from t_acme.workflow_runs;
         insert into t_acme.approvals (stage_id, run_id, contract_id, approver_id, \
                 assigned_via, state, created_at) \
             select st.id, st.run_id, \
                    case when {rare} then '{contract}'::uuid \
                         else (select id from t_acme.contracts where title = 'Contract 1') end, \
                    case when {rare} \
                         then (select id from t_acme.users where email = 'rare@example.com') \
                         else '{owner}'::uuid end, \
                    'team:legal', 'approved', now() - i * interval '1 minute' \
             from generate_series(1, {ROWS}) i, t_acme.workflow_stages st;
         insert into t_acme.contacts (name) select 'Contact ' || i from generate_series(1, {ROWS}) i;
         insert into t_acme.account_contacts (contact_id, counterparty_id) \
             select c.id, case when substr(c.name, 9)::int % 100 = 0 then a.first else a.second end \
             from t_acme.contacts c, accounts a;
         insert into t_acme.opportunities (name, account_id, stage, currency, owner_id) \
             select 'Deal ' || i, case when {rare} then a.first else a.second end, \
                    case when {rare} then 'negotiation' else 'prospecting' end, 'EUR', \
                    case when {rare} then '{owner}'::uuid end \
             from generate_series(1, {ROWS}) i, accounts a;
         insert into t_acme.leads (name, status, owner_id, created_at) \
             select 'Lead ' || i, case when {rare} then 'qualified' else 'new' end, \
                    case when {rare} then '{owner}'::uuid end, now() - i * interval '1 minute' \
             from generate_series(1, {ROWS}) i;
         insert into t_acme.invoices (number, account_id, contract_id, currency, status, \
                 issue_date, due_date, created_at) \
             select 'INV-' || i, case when {rare} then a.first else a.second end, \
                    case when {rare} then '{contract}'::uuid end, 'EUR', \
                    case when {rare} then 'paid' else 'draft' end, current_date, current_date, \
                    now() - i * interval '1 minute' \
             from generate_series(1, {ROWS}) i, accounts a;
         insert into t_acme.cases (subject, priority, account_id, contract_id, assignee_id, \
                 first_response_due_at, resolution_due_at, created_at, updated_at) \
             select 'Case ' || i, 'normal', case when {rare} then a.first else a.second end, \
                    case when {rare} then '{contract}'::uuid end, \
                    case when {rare} then '{owner}'::uuid end, now(), now(), \
                    now() - i * interval '1 minute', now() \
             from generate_series(1, {ROWS}) i, accounts a;
         insert into t_acme.audit_logs (action, entity, entity_id, actor_id, actor_kind) \
             select 'update', 'counterparty', \
                    case when {rare} then '{record}'::uuid else gen_random_uuid() end, \
                    case when i % 100 = 50 then '{owner}'::uuid end, \
                    case when i % 100 = 50 then 'user' else 'system' end \
             from generate_series(1, {ROWS}) i;
         insert into t_acme.tasks (target_kind, target_id, title, due_at, created_at, updated_at) \
             select case when {rare} then 'contract' else 'counterparty' end, \
                    case when {rare} then '{contract}'::uuid else a.second end, 'Task ' || i, \
                    now() + i * interval '1 hour', now(), now() \
             from generate_series(1, {ROWS}) i, accounts a;
         insert into t_acme.obligation_tasks (id, contract_id, obligation_key, party, action, \
                 prohibition, passage, start_char, end_char, due_date, due_source, status, \
                 created_at) \
             select gen_random_uuid(), '{contract}', 'duty ' || i, 'Supplier', 'deliver', \
                    false, 'The Supplier shall deliver.', 0, 27, current_date + i, 'text', \
                    case when i % 2 = 0 then 'open' else 'done' end, now() \
             from generate_series(1, {ROWS}) i;
         analyze t_acme.contacts; analyze t_acme.account_contacts; \
         analyze t_acme.contracts; analyze t_acme.approvals; analyze t_acme.counterparties; analyze t_acme.opportunities; analyze t_acme.leads; \
         analyze t_acme.invoices; analyze t_acme.cases; analyze t_acme.audit_logs; \
         analyze t_acme.tasks; analyze t_acme.obligation_tasks;"
    )
}

/// Filtered lists read about their matches in generic plans, through an index led by
/// the filter and followed by the list's order: 30 matches among 3,000 rows read all
/// 3,000 where the filter's column alone was indexed (the plan, made for an average
/// share of matches, read the list in order and dropped the rest) or where the filter
/// was a switch (`$5 is null or owner_id = $5`), which no index serves. The obligation
/// tasks of every status and everyone's approvals read through the index of their
/// order, which they lacked (and the approvals were paged by offset, so each page read
/// every approval before it as well).
#[tokio::test]
async fn filtered_lists_read_about_their_matches_in_generic_plans() {
    use pactum::{activities, cases, counterparties, invoices, leads, pipeline};

    let db = TestDb::migrated().await;
    let (tenant, owner, contract) = tenant_with_a_contract(&db).await;
    let client = db.client().await;
    let system = Principal::System("test");
    let record = Uuid::new_v4();
    client
        .batch_execute(&filtered_rows(owner, contract.id, record))
        .await
        .unwrap();
    let first: Uuid = client
        .query_one(
            "select id from t_acme.counterparties where name = 'Account 1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let contract = contract.id;

    let (tenant, system) = (&tenant, &system);
    let mut reads = Vec::new();
    macro_rules! read {
        ($name:expr, $table:expr, $list:expr) => {{
            let list = $list;
            let read = read_whole(tenant, $table, MATCHES, async |cursor| list(cursor).await).await;
            reads.push(($name, read));
        }};
    }
    let rare: Uuid = db
        .client()
        .await
        .query_one(
            "select id from t_acme.users where email = 'rare@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let of_contracts = |filter: serde_json::Value| {
        let filter = serde_json::from_value(filter).unwrap();
        async move |cursor: Option<String>| {
            contracts::search::list(tenant, system, &filter, &page_at(cursor)).await
        }
    };
    read!(
        "contracts by owner",
        "contracts",
        of_contracts(json!({ "owner_id": rare }))
    );
    read!(
        "contracts by counterparty",
        "contracts",
        of_contracts(json!({ "counterparty_id": first }))
    );
    let of_approvals = |actor: Actor, query: serde_json::Value| {
        async move |cursor: Option<String>| {
            let mut query = query.clone();
            query["cursor"] = json!(cursor);
            let tx = tenant.begin().await.unwrap();
            let approvals = pactum::workflows::views::approvals(
                &tx,
                &actor,
                serde_json::from_value(query).unwrap(),
            )
            .await;
            tx.commit().await.unwrap();
            approvals
        }
    };
    let manager = Actor::system("test");
    read!(
        "approvals of a contract",
        "approvals",
        of_approvals(
            manager.clone(),
            json!({ "scope": "all", "contract_id": contract, "limit": PAGE })
        )
    );
    read!(
        "approvals of an approver",
        "approvals",
        of_approvals(
            Actor::User {
                id: rare,
                role: Role::Viewer
            },
            json!({ "limit": PAGE })
        )
    );
    let accounts = |filter: counterparties::service::CounterpartyFilter<'static>| {
        async move |cursor: Option<String>| {
            counterparties::service::list(tenant, system, &filter, &page_at(cursor)).await
        }
    };
    read!(
        "accounts by owner",
        "counterparties",
        accounts(counterparties::service::CounterpartyFilter {
            owner_id: Some(owner),
            ..Default::default()
        })
    );
    read!(
        "accounts by parent",
        "counterparties",
        accounts(counterparties::service::CounterpartyFilter {
            parent_id: Some(first),
            ..Default::default()
        })
    );
    read!(
        "contacts of an account",
        "contacts",
        async move |cursor: Option<String>| {
            let at_first = counterparties::service::ContactFilter {
                q: None,
                account_id: Some(first),
            };
            counterparties::service::list_contacts(tenant, system, &at_first, &page_at(cursor))
                .await
        }
    );
    let deals = |filter: pipeline::service::OpportunityFilter<'static>| {
        async move |cursor: Option<String>| {
            pipeline::service::list(tenant, system, &filter, &page_at(cursor)).await
        }
    };
    read!(
        "opportunities by owner",
        "opportunities",
        deals(pipeline::service::OpportunityFilter {
            owner_id: Some(owner),
            ..Default::default()
        })
    );
    read!(
        "opportunities by account",
        "opportunities",
        deals(pipeline::service::OpportunityFilter {
            account_id: Some(first),
            ..Default::default()
        })
    );
    read!(
        "opportunities by stage",
        "opportunities",
        deals(pipeline::service::OpportunityFilter {
            stage: Some("negotiation"),
            ..Default::default()
        })
    );
    let of_leads = |filter: leads::service::LeadFilter<'static>| {
        async move |cursor: Option<String>| {
            leads::service::list(tenant, system, &filter, &page_at(cursor)).await
        }
    };
    read!(
        "leads by status",
        "leads",
        of_leads(leads::service::LeadFilter {
            status: Some("qualified"),
            ..Default::default()
        })
    );
    read!(
        "leads by owner",
        "leads",
        of_leads(leads::service::LeadFilter {
            owner_id: Some(owner),
            ..Default::default()
        })
    );
    let of_invoices = |filter: invoices::service::InvoiceFilter<'static>| {
        async move |cursor: Option<String>| {
            invoices::service::list(tenant, system, &filter, &page_at(cursor)).await
        }
    };
    read!(
        "invoices by status",
        "invoices",
        of_invoices(invoices::service::InvoiceFilter {
            status: Some("paid"),
            ..Default::default()
        })
    );
    read!(
        "invoices by account",
        "invoices",
        of_invoices(invoices::service::InvoiceFilter {
            account_id: Some(first),
            ..Default::default()
        })
    );
    read!(
        "invoices by contract",
        "invoices",
        of_invoices(invoices::service::InvoiceFilter {
            contract_id: Some(contract),
            ..Default::default()
        })
    );
    let of_cases = |filter: cases::service::CaseFilter| {
        async move |cursor: Option<String>| {
            cases::service::list(tenant, system, &filter, &page_at(cursor)).await
        }
    };
    read!(
        "cases by account",
        "cases",
        of_cases(cases::service::CaseFilter {
            account_id: Some(first),
            ..Default::default()
        })
    );
    read!(
        "cases by contract",
        "cases",
        of_cases(cases::service::CaseFilter {
            contract_id: Some(contract),
            ..Default::default()
        })
    );
    read!(
        "cases by assignee",
        "cases",
        of_cases(cases::service::CaseFilter {
            assignee_id: Some(owner),
            ..Default::default()
        })
    );
    let audit = |query: serde_json::Value| {
        let query = serde_json::from_value(query).unwrap();
        async move |cursor: Option<String>| {
            pactum::audit::log::list(tenant, system, &query, &page_at(cursor)).await
        }
    };
    read!(
        "audit of a record",
        "audit_logs",
        audit(json!({
            "entity": "counterparty", "entity_id": record
        }))
    );
    read!(
        "audit by actor",
        "audit_logs",
        audit(json!({ "actor": owner }))
    );
    read!("tasks of a record", "tasks", async |cursor: Option<
        String,
    >| {
        let on_contract = activities::tasks::TaskFilter {
            target: Some(("contract".into(), contract)),
            ..Default::default()
        };
        activities::tasks::list(tenant, system, &on_contract, &page_at(cursor)).await
    });
    let too_many: Vec<_> = reads
        .iter()
        .filter(|(_, read)| *read > 3 * MATCHES)
        .collect();
    assert!(
        too_many.is_empty(),
        "rows read to list {MATCHES} matches among {ROWS}: {too_many:?}"
    );

    let every_task = read_whole(tenant, "obligation_tasks", ROWS, async |cursor| {
        let every_status = serde_json::from_value(json!({
            "status": "all", "limit": PAGE, "cursor": cursor
        }))
        .unwrap();
        pactum::intelligence::tasks::list(tenant, system, &every_status).await
    })
    .await;
    let everyones = of_approvals(manager, json!({ "scope": "all", "limit": PAGE }));
    let every_approval = read_whole(tenant, "approvals", ROWS, async |cursor| {
        everyones(cursor).await
    })
    .await;
    for (table, read) in [
        ("obligation_tasks", every_task),
        ("approvals", every_approval),
    ] {
        assert!(
            read <= 2 * ROWS,
            "{table}: {read} rows read to page through {ROWS}"
        );
    }
}
