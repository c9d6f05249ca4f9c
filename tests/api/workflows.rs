//! Trigger rules evaluated by a real PostgreSQL against real contract rows: the SQL the
//! compiler writes is valid, and means what the rule says.

use pactum::workflows::rules::{compile, Param};
use serde_json::{json, Value};

use crate::app::{tenant_with_admin, PASSWORD};
use crate::support::TestDb;

async fn matching(client: &tokio_postgres::Client, rule: Value) -> Vec<String> {
    let compiled = compile(&rule, 1).unwrap_or_else(|e| panic!("{rule}: {e}"));
    let params: Vec<_> = compiled.params.iter().map(Param::as_sql).collect();
    let sql = format!(
        "select c.title from t_acme.contracts c where {} order by c.title",
        compiled.sql
    );
    client
        .query(&sql, &params)
        .await
        .unwrap_or_else(|e| panic!("{rule}: {sql}: {e}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn compiled_rules_select_the_contracts_they_describe() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let client = db.client().await;
    client
        .batch_execute(
            "insert into t_acme.contracts (title, contract_type, value, currency, owner_id, \
                 start_date, end_date, auto_renew, tags, metadata) \
             select v.title, v.type, v.value, v.currency, u.id, v.start_date, v.end_date, \
                 v.auto_renew, v.tags, v.metadata \
             from t_acme.users u, (values \
                 ('Big MSA', 'msa', 750000.00, 'EUR', date '2026-01-01', date '2028-12-31', true, \
                  array['strategic'], '{\"region\": \"emea\"}'::jsonb), \
                 ('Small SOW', 'sow', 12000.50, 'USD', date '2026-06-01', null::date, false, \
                  array[]::text[], '{}'::jsonb), \
                 ('Huge NDA', 'nda', 900000, 'EUR', null, null, false, \
                  array['renewal', 'q1'], '{\"region\": \"apac\"}'::jsonb), \
                 ('100% off_deal', 'other', null, null, null, null, false, \
                  array[]::text[], '{}'::jsonb)) \
               as v(title, type, value, currency, start_date, end_date, auto_renew, tags, metadata)",
        )
        .await
        .unwrap();

    for (rule, expected) in [
        (
            json!({"value__gte": "500000", "contract_type__in": ["msa", "sow"]}),
            vec!["Big MSA"],
        ),
        (
            json!({"value__range": ["10000", "800000"]}),
            vec!["Big MSA", "Small SOW"],
        ),
        (json!({"value__lt": 20000}), vec!["Small SOW"]),
        (json!({"value__isnull": true}), vec!["100% off_deal"]),
        (
            json!({"currency": "EUR", "not": {"type": "nda"}}),
            vec!["Big MSA"],
        ),
        (
            json!({"any": [{"tags__contains": "strategic"}, {"metadata__region": "apac"}]}),
            vec!["Big MSA", "Huge NDA"],
        ),
        (json!({"tags__in": ["q1", "q2"]}), vec!["Huge NDA"]),
        (
            json!({"tags__isnull": true}),
            vec!["100% off_deal", "Small SOW"],
        ),
        (json!({"end_date__isnull": false}), vec!["Big MSA"]),
        (json!({"start_date__gte": "2026-03-01"}), vec!["Small SOW"]),
        (json!({"auto_renewal": true}), vec!["Big MSA"]),
        (json!({"title__icontains": "msa"}), vec!["Big MSA"]),
        (json!({"title__contains": "msa"}), Vec::<&str>::new()),
        // Wildcards in the value are literal: only the title with "0% o" in it.
        (json!({"title__contains": "0% o"}), vec!["100% off_deal"]),
        (json!({"title__contains": "_"}), vec!["100% off_deal"]),
        (
            json!({"metadata__region__in": ["emea", "apac"]}),
            vec!["Big MSA", "Huge NDA"],
        ),
        // A missing metadata key is null: `not` of a null comparison still holds.
        (
            json!({"not": {"metadata__region": "emea"}}),
            vec!["100% off_deal", "Huge NDA", "Small SOW"],
        ),
        (
            json!({"status": "draft", "all": [{"value__gt": "1"}, {"value__lt": "800000"}]}),
            vec!["Big MSA", "Small SOW"],
        ),
        (
            json!({}),
            vec!["100% off_deal", "Big MSA", "Huge NDA", "Small SOW"],
        ),
    ] {
        assert_eq!(matching(&client, rule.clone()).await, expected, "{rule}");
    }
}
