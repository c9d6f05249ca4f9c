//! PostgreSQL itself keeps the tenants apart: every unit of work runs as its tenant's
//! role, which holds its own schema's data and nothing of anyone else's.

use super::*;
use crate::app::{spawn_app, tenant_db, tenant_with_admin, PASSWORD};
use pactum::tenancy::connection::{Pooler, RequestPool};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;

fn refused_for_privilege(result: Result<u64, tokio_postgres::Error>, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(
        error.code(),
        Some(&SqlState::INSUFFICIENT_PRIVILEGE),
        "{what}: {error:?}"
    );
}

#[tokio::test]
async fn a_statement_naming_another_tenants_schema_is_refused_by_postgresql_itself() {
    let db = TestDb::migrated().await;
    let acme = create(&db, &MigrationSet::tenant(), "acme").await;
    let globex = create(&db, &MigrationSet::tenant(), "globex").await;
    assert!(acme.tenant.role.is_some() && globex.tenant.role.is_some());
    assert_ne!(acme.tenant.role, globex.tenant.role);
    let pool = RequestPool::new(&db.database_url(), 1, Pooler::None).unwrap();
    let acme_db = tenant_db(&db, "acme", pool).await;

    let tx = acme_db.begin().await.unwrap();
    tx.query("select count(*) from users", &[])
        .await
        .expect("its own schema answers");
    let refused = tx
        .query("select * from t_globex.users", &[])
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(&SqlState::INSUFFICIENT_PRIVILEGE),
        "{refused:?}"
    );
    drop(tx);
    for statement in [
        "insert into t_globex.users (email, display_name, role) values ('x@y.z', 'x', 'admin')",
        "update t_globex.users set role = 'viewer'",
        "delete from t_globex.contracts",
        "create table t_globex.stolen (x int)",
        // Nor does it own its own schema: no DDL, whatever a statement tries.
        "drop table users",
        "create table users_copy (x int)",
        "alter table contracts add column x int",
    ] {
        let tx = acme_db.begin().await.unwrap();
        refused_for_privilege(tx.execute(statement, &[]).await, statement);
    }
    // The one-round-trip read path opens its transactions the same way.
    let error = acme_db
        .read(&[("select count(*) from t_globex.users", &[])])
        .await
        .unwrap_err();
    assert!(
        pactum::tenancy::describe_error(&error).contains("permission denied"),
        "{error:?}"
    );
    // And the role is the unit of work's only: the connection goes back as it came.
    let owner = db.client().await;
    let count: i64 = owner
        .query_one("select count(*) from t_globex.users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "nothing reached globex");
}

#[tokio::test]
async fn a_tenant_role_sees_and_writes_only_its_own_rows_in_the_shared_tables() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let globex = create(&db, &MigrationSet::tenant(), "globex").await;
    let owner = db.client().await;
    owner
        .execute(
            "insert into public.jobs (tenant_id, kind, state, run_at, fair_at, created_at) \
             values ($1, 'probe', 'scheduled', now() + interval '1 day', now(), now())",
            &[&globex.tenant.id.0],
        )
        .await
        .unwrap();
    let pool = RequestPool::new(&db.database_url(), 1, Pooler::None).unwrap();
    let acme_db = tenant_db(&db, "acme", pool).await;

    let tx = acme_db.begin().await.unwrap();
    let seen: Vec<String> = tx
        .query("select slug from public.tenants order by 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(seen, ["acme"], "only its own registry row");
    let jobs: i64 = tx
        .query_one("select count(*) from public.jobs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(jobs, 0, "globex's job is not acme's to see");
    let cancelled = tx
        .execute("update public.jobs set state = 'cancelled'", &[])
        .await
        .unwrap();
    assert_eq!(cancelled, 0, "nor to change");
    drop(tx);
    let tx = acme_db.begin().await.unwrap();
    refused_for_privilege(
        tx.execute(
            "insert into public.jobs (tenant_id, kind, state, run_at, fair_at, created_at) \
             values ($1, 'forged', 'available', now(), now(), now())",
            &[&globex.tenant.id.0],
        )
        .await,
        "a job enqueued for another tenant",
    );
    drop(tx);
    let tx = acme_db.begin().await.unwrap();
    refused_for_privilege(
        tx.execute("select * from public.platform_operators", &[])
            .await,
        "the operators' table",
    );
    drop(tx);
    let state: String = owner
        .query_one("select state from public.jobs where kind = 'probe'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "scheduled");
}

#[tokio::test]
async fn the_server_works_as_a_login_role_that_can_only_become_tenant_roles() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    tenant_with_admin(&db, "globex", PASSWORD).await;
    let login = db.server_login_url().await;
    let app = spawn_app(&db, &[("DATABASE_URL", login.as_str())]).await;
    let acme = app
        .access_token("acme.localhost", "admin@example.com", PASSWORD)
        .await;
    let globex = app
        .access_token("globex.localhost", "admin@example.com", PASSWORD)
        .await;
    let created = app
        .call(
            Method::POST,
            "acme.localhost",
            "/api/v1/contracts",
            &acme,
            Some(json!({"title": "Supply agreement", "contract_type": "msa",
                        "body": "The Supplier shall deliver monthly."})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    for (host, token, expected) in [
        ("acme.localhost", &acme, 1),
        ("globex.localhost", &globex, 0),
    ] {
        let page: Value = app
            .call(Method::GET, host, "/api/v1/contracts", token, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), expected, "{host}");
    }
    // Its job runner claims from the shared queue and runs each job as its tenant.
    let owner = db.client().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let row = owner
            .query_one(
                "select count(*) filter (where state = 'completed'), \
                        count(*) filter (where state not in ('completed', 'cancelled')), \
                        coalesce(string_agg(errors::text, ' ') filter (where errors <> '[]'), '') \
                 from public.jobs",
                &[],
            )
            .await
            .unwrap();
        let (done, open, errors): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        assert!(errors.is_empty(), "jobs failed as the login role: {errors}");
        if done > 0 && open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{done} jobs done, {open} open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And outside a tenant's unit of work the login role holds no tenant data at all.
    let login_client = crate::support::connect(&login).await;
    let error = login_client
        .query("select count(*) from t_acme.contracts", &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
}

#[tokio::test]
async fn a_tenant_made_from_a_spare_runs_as_the_spares_role_and_delete_drops_it() {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    spares::fill(&mut client, &MigrationSet::tenant(), 1, || {})
        .await
        .unwrap();
    let spare_role: String = client
        .query_one("select role_name from public.spare_schemas", &[])
        .await
        .unwrap()
        .get(0);
    let warm = create(&db, &MigrationSet::tenant(), "warm").await;
    assert_eq!(warm.path, ProvisionPath::Spare);
    assert_eq!(warm.tenant.role.as_ref().unwrap().as_str(), spare_role);
    create(&db, &MigrationSet::tenant(), "other").await;
    let pool = RequestPool::new(&db.database_url(), 1, Pooler::None).unwrap();
    let warm_db = tenant_db(&db, "warm", pool).await;
    assert_eq!(warm_db.role().unwrap().as_str(), spare_role);
    let tx = warm_db.begin().await.unwrap();
    tx.query("select count(*) from users", &[]).await.unwrap();
    refused_for_privilege(
        tx.execute("select count(*) from t_other.users", &[]).await,
        "the other tenant's users",
    );
    drop(tx);

    let checker = db.client().await;
    let role_exists = |name: String| {
        let client = &checker;
        async move {
            client
                .query_opt("select 1 from pg_roles where rolname = $1", &[&name])
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(role_exists(spare_role.clone()).await);
    provision::delete_tenant(&mut client, &TenantSlug::parse("warm").unwrap())
        .await
        .unwrap();
    assert!(
        !role_exists(spare_role).await,
        "the role went with its tenant"
    );
}
