//! A tenant's life in the registry: provisioning (all or nothing), domains, suspension,
//! deletion that resumes, announcements, and the schema built the same way cold, by
//! refinery and for Citus.

use super::*;
use pactum::tenancy::roles::{self, RoleName};

#[tokio::test]
async fn provisioning_creates_the_schema_its_tables_history_and_registry_rows() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    let created = create(&db, &set, "acme").await;
    assert_eq!(created.path, ProvisionPath::Cold);
    assert_eq!(created.tenant.status, TenantStatus::Active);
    assert_eq!(created.tenant.schema_version, set.latest_version());

    let client = db.client().await;
    assert_eq!(schemas(&client).await, vec!["t_acme".to_string()]);
    let tables: Vec<String> = client
        .query(
            "select table_name::text from information_schema.tables where table_schema = 't_acme' order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        vec![
            "account_contacts",
            "activities",
            "approvals",
            "attachment_pages",
            "attachment_texts",
            "attachments",
            "audit_logs",
            "business_calendar",
            "case_sla_policies",
            "cases",
            "clause_vectors",
            "clauses",
            "comments",
            "contacts",
            "contract_clauses",
            "contract_imports",
            "contract_passages",
            "contract_redactions",
            "contract_risk",
            "contract_suggestions",
            "contract_types",
            "contract_versions",
            "contracts",
            "counterparties",
            "document_settings",
            "generative_requests",
            "generative_settings",
            "generative_summaries",
            "idempotency_keys",
            "invoice_counters",
            "invoice_emails",
            "invoice_lines",
            "invoice_payments",
            "invoice_settings",
            "invoices",
            "leads",
            "notification_defaults",
            "notification_deliveries",
            "notification_settings",
            "notification_stream_tickets",
            "notifications",
            "obligation_tasks",
            "opportunities",
            "opportunity_contacts",
            "out_of_office",
            "pipeline_stages",
            "redaction_patterns",
            "refinery_schema_history",
            "refresh_tokens",
            "revoked_access_tokens",
            "risk_policy",
            "role_grants",
            "tasks",
            "team_members",
            "teams",
            "templates",
            "users",
            "vector_state",
            "webhook_deliveries",
            "webhook_endpoints",
            "webhook_messages",
            "workflow_definition_versions",
            "workflow_definitions",
            "workflow_runs",
            "workflow_settings",
            "workflow_stages"
        ]
    );
    let applied: Vec<i32> = history(&client, "t_acme")
        .await
        .iter()
        .map(|h| h.0)
        .collect();
    let expected: Vec<i32> = set.names().iter().map(|m| m.version).collect();
    assert_eq!(applied, expected);
    let tenant = registry::find_by_host(&client, &Host::parse("acme.localhost").unwrap())
        .await
        .unwrap()
        .expect("the domain routes to the tenant");
    assert_eq!(tenant.slug.as_str(), "acme");
    let domains = registry::domains_of(&client, tenant.id).await.unwrap();
    assert_eq!(domains.len(), 1);
    assert!(domains[0].is_primary);
    // Nothing of the tenant leaked into public.
    assert_eq!(
        count(&client, "select count(*) from information_schema.tables where table_schema = 'public' and table_name = 'users'").await,
        0
    );
}

#[tokio::test]
async fn provisioning_that_fails_half_way_leaves_nothing_behind() {
    let db = TestDb::migrated().await;
    let broken = next_release("create table half_done (id int); select no_such_function();");
    let mut client = db.client().await;
    let error = provision::create_tenant(&mut client, &broken, &new_tenant("acme"))
        .await
        .expect_err("the broken migration fails the provisioning");
    assert!(
        error.to_string().contains("no_such_function"),
        "the cause is reported: {error}"
    );
    assert!(schemas(&client).await.is_empty(), "no orphan schema");
    assert_eq!(
        count(&client, "select count(*) from public.tenants").await,
        0
    );
    assert_eq!(
        count(&client, "select count(*) from public.domains").await,
        0
    );
    assert_eq!(
        count(
            &client,
            "select count(*) from pg_class where relname = 'half_done'"
        )
        .await,
        0
    );
    // And the slug and host are free for a good attempt.
    create(&db, &MigrationSet::tenant(), "acme").await;
}

#[tokio::test]
async fn taken_slug_host_or_schema_is_refused_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    create(&db, &set, "acme").await;
    let mut client = db.client().await;

    let same_slug = NewTenant::new(
        TenantSlug::parse("acme").unwrap(),
        None,
        Host::parse("other.localhost").unwrap(),
    )
    .unwrap();
    let error = provision::create_tenant(&mut client, &set, &same_slug)
        .await
        .unwrap_err();
    assert!(matches!(error, TenancyError::SlugTaken(_)), "{error:?}");

    let same_host = NewTenant::new(
        TenantSlug::parse("globex").unwrap(),
        None,
        Host::parse("ACME.localhost").unwrap(),
    )
    .unwrap();
    let error = provision::create_tenant(&mut client, &set, &same_host)
        .await
        .unwrap_err();
    assert!(matches!(error, TenancyError::HostTaken(_)), "{error:?}");

    client
        .batch_execute("create schema t_initech")
        .await
        .unwrap();
    let error = provision::create_tenant(&mut client, &set, &new_tenant("initech"))
        .await
        .unwrap_err();
    assert!(matches!(error, TenancyError::SchemaExists(_)), "{error:?}");

    assert_eq!(
        count(&client, "select count(*) from public.tenants").await,
        1
    );
    assert_eq!(
        count(&client, "select count(*) from public.domains").await,
        1
    );
    assert_eq!(schemas(&client).await, vec!["t_acme", "t_initech"]);
}

#[tokio::test]
async fn delete_drops_schema_registry_row_and_domains() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    create(&db, &MigrationSet::tenant(), "globex").await;
    let mut client = db.client().await;
    provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(schemas(&client).await, vec!["t_globex"]);
    assert_eq!(
        count(&client, "select count(*) from public.tenants").await,
        1
    );
    assert_eq!(
        count(&client, "select count(*) from public.domains").await,
        1
    );
    let again = provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap()).await;
    assert!(matches!(again, Err(TenancyError::TenantNotFound(_))));
}

#[tokio::test]
async fn a_delete_interrupted_after_marking_resumes_on_the_next_run() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let mut client = db.client().await;
    // What a crash between the two steps leaves: marked, schema still there.
    client
        .batch_execute("update public.tenants set status = 'deleting' where slug = 'acme'")
        .await
        .unwrap();
    provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap();
    assert!(schemas(&client).await.is_empty());
}

#[tokio::test]
async fn domains_keep_exactly_one_primary_and_the_last_one_cannot_go() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let mut client = db.client().await;
    let acme = TenantSlug::parse("acme").unwrap();
    let host = |h: &str| Host::parse(h).unwrap();

    let added = registry::add_domain(&mut client, &acme, &host("acme.example.com"), true)
        .await
        .unwrap();
    assert!(added.is_primary);
    let tenant = registry::get_by_slug(&client, &acme).await.unwrap();
    let domains = registry::domains_of(&client, tenant.id).await.unwrap();
    assert_eq!(domains.iter().filter(|d| d.is_primary).count(), 1);
    assert_eq!(domains[0].host.as_str(), "acme.example.com");

    let removed = registry::remove_domain(&mut client, &host("acme.example.com"))
        .await
        .unwrap();
    assert_eq!(removed.new_primary, Some(host("acme.localhost")));
    let last = registry::remove_domain(&mut client, &host("acme.localhost")).await;
    assert!(matches!(last, Err(TenancyError::Conflict(_))), "{last:?}");
    let unknown = registry::remove_domain(&mut client, &host("nobody.localhost")).await;
    assert!(matches!(unknown, Err(TenancyError::DomainNotFound(_))));
    let taken = registry::add_domain(&mut client, &acme, &host("acme.localhost"), false).await;
    assert!(
        matches!(taken, Err(TenancyError::HostTaken(_))),
        "{taken:?}"
    );
}

#[tokio::test]
async fn suspend_and_resume_follow_the_allowed_transitions() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let client = db.client().await;
    let acme = TenantSlug::parse("acme").unwrap();
    let suspended = registry::change_status(
        &client,
        &acme,
        &[TenantStatus::Active],
        TenantStatus::Suspended,
    )
    .await
    .unwrap();
    assert_eq!(suspended.status, TenantStatus::Suspended);
    client
        .batch_execute("update public.tenants set status = 'deleting' where slug = 'acme'")
        .await
        .unwrap();
    let refused = registry::change_status(
        &client,
        &acme,
        &[TenantStatus::Suspended],
        TenantStatus::Active,
    )
    .await;
    assert!(
        matches!(refused, Err(TenancyError::Conflict(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn registry_changes_are_announced_on_the_notification_channel() {
    let db = TestDb::migrated().await;
    let (client, mut connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        use futures::StreamExt;
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let _ = tx.send(n.payload().to_owned());
            }
        }
    });
    client
        .batch_execute("listen pactum_registry")
        .await
        .unwrap();
    let created = create(&db, &MigrationSet::tenant(), "acme").await;
    let payload = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a notification arrives")
        .unwrap();
    assert_eq!(payload, created.tenant.id.to_string());
}

/// A cold build runs the squashed baseline and then the migrations after it; the
/// schema, its seeded rows and its history must be exactly what refinery's own runner
/// builds by replaying every migration, and what the replay path of a cold build
/// builds, with and without a migration after the baseline.
#[tokio::test]
async fn a_cold_build_from_the_squashed_baseline_is_what_replaying_every_migration_builds() {
    let db = TestDb::migrated().await;
    let next_release = next_release(
        "alter table contracts add column probe text not null default 'next';\n\
         insert into pipeline_stages (key, label, position, probability, outcome) \
         values ('probe', 'Probe', 7, 5, 'open')",
    );
    let mut client = db.client().await;
    let role_oid = roles::database_oid(&client).await.unwrap();
    for (run, (label, set)) in [
        ("as released", MigrationSet::tenant()),
        ("a migration later", next_release),
    ]
    .into_iter()
    .enumerate()
    {
        let (squashed_slug, replayed_slug, reference) = (
            format!("squashed{run}"),
            format!("replayed{run}"),
            format!("t_reference{run}"),
        );
        let baseline = set.baseline_version().expect("the set has a baseline");
        if run == 0 {
            assert!(baseline <= set.latest_version(), "{label}");
        } else {
            assert!(
                baseline < set.latest_version(),
                "{label}: replayed after the baseline"
            );
        }
        let built = create(&db, &set, &squashed_slug).await;
        assert_eq!(built.path, ProvisionPath::Cold, "{label}");
        let replayed = provision::create_tenant_cold(
            &mut client,
            &set.clone().without_baseline(),
            &new_tenant(&replayed_slug),
        )
        .await
        .unwrap();
        assert_eq!(replayed.path, ProvisionPath::Cold, "{label}");
        client
            .batch_execute(&format!(
                "create schema {reference}; set search_path to {reference}"
            ))
            .await
            .unwrap();
        let mut runner = refinery::Runner::new(set.migrations());
        runner.set_migration_table_name(format!("{reference}.refinery_schema_history"));
        runner.run_async(&mut client).await.unwrap();
        // With the reference on the path, PostgreSQL would print its names unqualified.
        client.batch_execute("reset search_path").await.unwrap();
        // And its tenant role, with the schema-wide grants PostgreSQL offers: the grants
        // provisioning writes table by table must amount to exactly these.
        let role = RoleName::generate(role_oid);
        client
            .batch_execute(&format!(
                "{create}grant usage on schema {reference} to {role};\n\
                 grant select, insert, update, delete on all tables in schema {reference} to {role};\n\
                 grant usage, select, update on all sequences in schema {reference} to {role};",
                create = roles::create_script(&role),
                role = role.quoted(),
            ))
            .await
            .unwrap();

        let squashed = schema_fingerprint(&client, &format!("t_{squashed_slug}")).await;
        assert!(
            squashed
                .iter()
                .any(|line| line.starts_with("rows contract_types 8 ")),
            "{label}: the rows the migrations seed are in the baseline"
        );
        for other in [reference.clone(), format!("t_{replayed_slug}")] {
            let other_fingerprint = schema_fingerprint(&client, &other).await;
            assert_eq!(
                fingerprint_differences(&squashed, &other_fingerprint),
                Vec::<String>::new(),
                "{label}: the baseline's build (-) against {other} (+)"
            );
            assert_eq!(squashed.len(), other_fingerprint.len(), "{label}");
        }
        let reference_history = history(&client, &reference).await;
        assert_eq!(reference_history.len(), set.names().len(), "{label}");
        assert_eq!(
            history(&client, &format!("t_{squashed_slug}")).await,
            reference_history
        );
        assert_eq!(
            history(&client, &format!("t_{replayed_slug}")).await,
            reference_history
        );
    }
}

/// Citus forwards some DDL to workers as prepared statements, which hold one command
/// each. The Citus path splits the tenant script; here every piece runs through the
/// extended protocol, which refuses more than one command just as a worker does, and
/// the schema it builds must match the one-message build exactly. (Citus itself is not
/// in the package registries; this is what can be proven on plain PostgreSQL.)
#[tokio::test]
async fn the_tenant_script_split_for_citus_runs_one_command_per_message_and_builds_the_same_schema()
{
    use pactum::tenancy::citus::{split_statements, Cluster};
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let mut client = db.client().await;
    let set = MigrationSet::tenant();
    for (schema, per_message) in [("t_split", true), ("t_citus_path", false)] {
        let schema = pactum::tenancy::SchemaName::from_stored(schema).unwrap();
        let role = RoleName::generate(roles::database_oid(&client).await.unwrap());
        let script = format!(
            "create schema {q}; set local search_path to {q};\n{}\n{}",
            set.script_for_new_schema(&schema).await.unwrap(),
            roles::create_script(&role),
            q = schema.quoted()
        );
        let tx = client.transaction().await.unwrap();
        if per_message {
            let whole = tx.execute(script.as_str(), &[]).await.unwrap_err();
            assert!(
                whole.to_string().contains("multiple commands")
                    || format!("{whole:?}").contains("multiple commands"),
                "{whole:?}"
            );
        }
        tx.rollback().await.unwrap();
        let tx = client.transaction().await.unwrap();
        if per_message {
            let statements = split_statements(&script);
            assert!(
                statements.len() > set.names().len() * 2,
                "{}",
                statements.len()
            );
            for statement in statements {
                tx.execute(statement, &[])
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
            }
        } else {
            Cluster::Citus.execute_script(&tx, &script).await.unwrap();
        }
        roles::grant(&tx, Cluster::Citus, &role, &schema)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            schema_fingerprint(&client, schema.as_str()).await,
            schema_fingerprint(&client, "t_acme").await,
            "{schema}"
        );
        assert_eq!(
            history(&client, schema.as_str()).await.len(),
            set.names().len()
        );
    }
}

#[tokio::test]
async fn a_unique_violation_without_its_constraint_field_is_still_told_apart() {
    use pactum::kernel::error::OnConstraint;
    use pactum::kernel::DomainError;
    let db = TestDb::migrated().await;
    let client = db.client().await;
    // What Citus's coordinator raises for a worker's violation: the worker's message,
    // no constraint field.
    client
        .batch_execute(
            "create function pg_temp.as_citus_raises(name text) returns void language plpgsql as $$ \
             begin raise exception using errcode = '23505', \
                 message = format('duplicate key value violates unique constraint \"%s\"', name || '_102070'); \
             end $$",
        )
        .await
        .unwrap();
    let raise = |name: &'static str| {
        let client = &client;
        async move {
            client
                .query_one("select pg_temp.as_citus_raises($1)", &[&name])
                .await
        }
    };
    let error = raise("users_email_key").await.unwrap_err();
    let db_error = error.as_db_error().unwrap();
    assert_eq!(
        db_error.constraint(),
        None,
        "the field is missing, as on Citus"
    );
    let mapped = raise("users_email_key")
        .await
        .on_constraint("users_email_key", || {
            DomainError::Conflict("email_taken", "taken".into())
        })
        .unwrap_err();
    assert!(
        matches!(mapped, DomainError::Conflict("email_taken", _)),
        "{mapped:?}"
    );
    let other = raise("teams_name_key")
        .await
        .on_constraint("users_email_key", || {
            DomainError::Conflict("email_taken", "taken".into())
        })
        .unwrap_err();
    assert!(
        matches!(other, DomainError::Conflict("duplicate", _)),
        "{other:?}"
    );
}
