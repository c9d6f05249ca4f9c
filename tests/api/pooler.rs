//! Pactum behind a real PgBouncer in transaction mode (the distribution's 1.18, which
//! has no protocol-level prepared statements) with fewer server connections than the
//! server's pool, so consecutive transactions of one Pactum connection land on
//! different PostgreSQL backends: a cross-tenant storm through the real server,
//! provisioning and a fleet migration through the pooler.

use futures::StreamExt;

use pactum::identity::password::NewPassword;
use pactum::tenancy::first_admin::FirstAdmin;
use pactum::tenancy::fleet::{self, FleetOptions, OutcomeStatus};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::{Email, Host, MigrationSet, TenantSlug};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{spawn_app, PASSWORD};
use crate::support::{connect, PgBouncer, TestDb};

const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];

/// Creates `slug` through `url` (the pooler) with an admin and returns nothing: the
/// test logs in over HTTP.
async fn provision_through(url: &str, slug: &str) {
    let mut new = NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        Some(&format!("Tenant {slug}")),
        Host::parse(&format!("{slug}.localhost")).unwrap(),
    )
    .unwrap();
    new.admin = Some(FirstAdmin {
        email: Email::parse("admin@example.com").unwrap(),
        display_name: format!("Admin of {slug}"),
        password_hash: NewPassword::parse(PASSWORD).unwrap().hash().unwrap(),
    });
    let mut client = connect(url).await;
    let created = provision::create_tenant(&mut client, &MigrationSet::tenant(), &new)
        .await
        .unwrap_or_else(|e| panic!("creating {slug} through PgBouncer: {e}"));
    assert_eq!(created.tenant.slug.as_str(), slug);
}

#[tokio::test]
async fn a_cross_tenant_storm_through_pgbouncer_never_shows_another_tenants_data() {
    let db = TestDb::migrated().await;
    let bouncer = PgBouncer::start(2);
    let pooled = bouncer.url_for(&db);
    // Provisioning through the pooler, two at a time.
    futures::future::join_all(TENANTS.iter().map(|slug| provision_through(&pooled, slug))).await;

    let app = spawn_app(
        &db,
        &[
            ("DATABASE_URL", pooled.as_str()),
            ("PACTUM_DB_POOLER", "transaction"),
            ("PACTUM_DIRECT_DATABASE_URL", db.url.as_str()),
            ("PACTUM_DB_POOL_SIZE", "8"),
        ],
    )
    .await;
    let mut tokens = Vec::new();
    for slug in TENANTS {
        let host = format!("{slug}.localhost");
        let token = app.access_token(&host, "admin@example.com", PASSWORD).await;
        for n in 0..3 {
            let created = app
                .call(
                    Method::POST,
                    &host,
                    "/api/v1/contracts",
                    &token,
                    Some(json!({"title": format!("{slug} contract {n}"), "contract_type": "nda"})),
                )
                .await;
            assert_eq!(
                created.status(),
                StatusCode::CREATED,
                "{slug}: {:?}",
                created.text().await
            );
        }
        tokens.push((host, token));
    }

    let requests = (0..240).map(|i| {
        let (app, tokens) = (&app, &tokens);
        async move {
            let own = i % TENANTS.len();
            let (host, token) = &tokens[own];
            let slug = TENANTS[own];
            match i % 4 {
                // Another tenant's token on this host.
                3 => {
                    let foreign = &tokens[(own + 1) % TENANTS.len()].1;
                    let response = app
                        .call(Method::GET, host, "/api/v1/contracts", foreign, None)
                        .await;
                    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
                    0
                }
                2 => {
                    let response = app
                        .call(Method::GET, host, "/api/v1/auth/me", token, None)
                        .await;
                    assert_eq!(response.status(), StatusCode::OK);
                    let me: Value = response.json().await.unwrap();
                    assert_eq!(me["display_name"], format!("Admin of {slug}"));
                    1
                }
                _ => {
                    let response = app
                        .call(
                            Method::GET,
                            host,
                            "/api/v1/contracts?status=draft&limit=50",
                            token,
                            None,
                        )
                        .await;
                    let status = response.status();
                    let text = response.text().await.unwrap();
                    assert_eq!(status, StatusCode::OK, "{text}");
                    for other in TENANTS.iter().filter(|other| **other != slug) {
                        assert!(
                            !text.contains(&format!("{other} contract")),
                            "{slug} saw {other}: {text}"
                        );
                    }
                    let page: Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(page["items"].as_array().unwrap().len(), 3, "{text}");
                    1
                }
            }
        }
    });
    let served: usize = futures::stream::iter(requests)
        .buffer_unordered(24)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    assert_eq!(served, 180);

    // The server's eight connections really shared PgBouncer's two.
    let admin = connect(&db.url).await;
    let backends: i64 = admin
        .query_one(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and application_name = 'pactum'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        backends <= 2,
        "{backends} backends for PgBouncer's pool of 2\n{}",
        bouncer.log()
    );
}

#[tokio::test]
async fn a_fleet_migration_runs_its_schemas_through_pgbouncer_and_its_lock_direct() {
    let db = TestDb::migrated().await;
    let bouncer = PgBouncer::start(2);
    let pooled = bouncer.url_for(&db);
    for slug in TENANTS {
        provision_through(&pooled, slug).await;
    }
    let base = MigrationSet::tenant();
    let next = base.latest_version() + 1;
    let set = base
        .with_extra(&[(
            &format!("V{next}__pooled_release"),
            "create table release_notes (id bigint primary key); \
             create index release_notes_id on release_notes (id)",
        )])
        .unwrap();
    let report = fleet::migrate_fleet_via(
        &DatabaseUrl::parse(&pooled, "pactum-tests").unwrap(),
        &db.database_url(),
        &MigrationSet::public(),
        &set,
        &FleetOptions {
            parallel: 4,
            ..FleetOptions::default()
        },
        |_| {},
    )
    .await
    .expect("the migration runs");
    assert!(
        report
            .schemas
            .iter()
            .all(|o| o.status == OutcomeStatus::Migrated),
        "{report:?}"
    );
    assert_eq!(report.summary.migrated, TENANTS.len());
    let admin = connect(&db.url).await;
    for slug in TENANTS {
        let version: i32 = admin
            .query_one(
                "select schema_version from public.tenants where slug = $1",
                &[&slug],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(version, next);
        let table: Option<String> = admin
            .query_one(
                &format!("select to_regclass('t_{slug}.release_notes')::text"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(table.is_some(), "{slug} has the new table");
    }
}
