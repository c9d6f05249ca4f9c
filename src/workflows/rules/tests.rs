//! Unit tests of [`super`]: pure logic, no database.

use super::*;
use serde_json::json;

fn sql(rule: Value) -> (String, Vec<Param>) {
    let compiled = compile(&rule, 1).unwrap();
    (compiled.sql, compiled.params)
}

fn refused(rule: Value) -> RuleError {
    compile(&rule, 1).unwrap_err()
}

#[test]
fn the_seed_rule_compiles_to_bound_parameters() {
    let (sql, params) = sql(json!({"value__gte": "500000", "contract_type__in": ["msa", "sow"]}));
    // serde_json keeps keys sorted.
    assert_eq!(
        sql,
        "(c.contract_type = any($1::text[]) and c.value >= $2::text::numeric)"
    );
    assert_eq!(
        params,
        vec![
            Param::TextList(vec!["msa".into(), "sow".into()]),
            Param::Text("500000".into())
        ]
    );
}

#[test]
fn combinators_nest_and_number_from_the_offset() {
    let rule = json!({"any": [{"tags__contains": "strategic"}, {"not": {"status": "draft"}}]});
    let compiled = compile(&rule, 3).unwrap();
    assert_eq!(
        compiled.sql,
        "(c.tags @> array[$3::text] or not coalesce((c.status = $4), false))"
    );
    assert_eq!(compiled.conditions.len(), 2);
    assert_eq!(compiled.conditions[0].0, "any[0].tags__contains");
    assert_eq!(compiled.conditions[1].0, "any[1].not.status");
}

#[test]
fn every_operator_has_its_sql() {
    for (rule, expected) in [
        (json!({"value__lt": 10}), "c.value < $1::text::numeric"),
        (
            json!({"value__lte": "10.5"}),
            "c.value <= $1::text::numeric",
        ),
        (json!({"value__gt": "1"}), "c.value > $1::text::numeric"),
        (json!({"value__exact": "1"}), "c.value = $1::text::numeric"),
        (
            json!({"value__in": ["1", "2"]}),
            "c.value = any($1::text[]::numeric[])",
        ),
        (
            json!({"value__range": ["1", "9"]}),
            "c.value between $1::text::numeric and $2::text::numeric",
        ),
        (
            json!({"end_date__lt": "2027-01-01"}),
            "c.end_date < $1::text::date",
        ),
        (
            json!({"title__icontains": "50%_off"}),
            "c.title ilike '%' || $1 || '%'",
        ),
        (
            json!({"title__contains": "MSA"}),
            "c.title like '%' || $1 || '%'",
        ),
        (
            json!({"counterparty__isnull": true}),
            "c.counterparty_id is null",
        ),
        (
            json!({"end_date__isnull": false}),
            "not (c.end_date is null)",
        ),
        (json!({"tags__isnull": true}), "cardinality(c.tags) = 0"),
        (json!({"tags__in": ["a", "b"]}), "c.tags && $1::text[]"),
        (json!({"auto_renewal": true}), "c.auto_renew = $1"),
        (
            json!({"owner__in": ["8c8e4a1e-54a4-4a47-9b40-5cf2d0cbd0a7"]}),
            "c.owner_id = any($1::text[]::uuid[])",
        ),
        (
            json!({"metadata__region": "emea"}),
            "(c.metadata ->> 'region') = $1",
        ),
        (
            json!({"metadata__cost_centre__in": ["a"]}),
            "(c.metadata ->> 'cost_centre') = any($1::text[])",
        ),
        (json!({}), "true"),
    ] {
        assert_eq!(sql(rule.clone()).0, expected, "{rule}");
    }
    // LIKE wildcards in the value are literal.
    assert_eq!(
        sql(json!({"title__contains": "50%_off"})).1,
        vec![Param::Text("50\\%\\_off".into())]
    );
}

#[test]
fn values_go_to_postgresql_in_the_one_form_it_accepts() {
    let id = "0e5f6a1c-9b1d-4c55-8d2e-7f3a2b1c0d9e";
    for written in [
        format!("urn:uuid:{id}"),
        format!("{{{id}}}"),
        id.replace('-', ""),
        id.to_uppercase(),
    ] {
        let (_, params) = sql(json!({ "owner": written }));
        assert!(
            matches!(&params[..], [Param::Text(t)] if t == id),
            "{written}"
        );
    }
}

#[test]
fn refusals_name_the_offending_path() {
    for (rule, path, says) in [
        (json!({"colour": "red"}), "colour", "unknown field"),
        (
            json!({"value__like": "1"}),
            "value__like",
            "unknown operator",
        ),
        (json!({"value__gte": "lots"}), "value__gte", "decimal"),
        (json!({"value__gte": true}), "value__gte", "decimal"),
        (
            json!({"start_date__lt": "2026-13-01"}),
            "start_date__lt",
            "date",
        ),
        (json!({"owner": "not-a-uuid"}), "owner", "UUID"),
        (
            json!({"start_date__lt": "0000-01-01"}),
            "start_date__lt",
            "date",
        ),
        (
            json!({"start_date__lt": "-001-01-01"}),
            "start_date__lt",
            "date",
        ),
        (
            json!({"start_date__lt": "+999-01-01"}),
            "start_date__lt",
            "date",
        ),
        (
            json!({"start_date__lt": "2026-1-1"}),
            "start_date__lt",
            "date",
        ),
        (
            json!({"status__lt": "draft"}),
            "status__lt",
            "does not apply",
        ),
        (
            json!({"any": [{"value": "1"}, {"title__in": []}]}),
            "any[1].title__in",
            "list of 1",
        ),
        (json!({"all": {"value": "1"}}), "all", "list of rules"),
        (json!({"not": ["x"]}), "not", "JSON object"),
        (
            json!({"value__range": ["1"]}),
            "value__range",
            "[low, high]",
        ),
        (json!({"metadata__": "x"}), "metadata__", "metadata key"),
        (
            json!({"metadata__Bad-Key": "x"}),
            "metadata__Bad-Key",
            "metadata key",
        ),
        (json!({"title__in": ["ok", 5]}), "title__in[1]", "string"),
        (
            json!({"value__gte": "1; drop table contracts"}),
            "value__gte",
            "decimal",
        ),
        (
            json!({"\"; drop table x; --": 1}),
            "\"; drop table x; --",
            "unknown field",
        ),
        (json!({"auto_renew": "yes"}), "auto_renew", "true or false"),
        (json!({"title__isnull": "yes"}), "title__isnull", "isnull"),
    ] {
        let error = refused(rule.clone());
        assert_eq!(error.path, path, "{rule}");
        assert!(error.message.contains(says), "{rule}: {}", error.message);
    }
}

#[test]
fn rules_too_large_or_too_deep_are_refused() {
    let mut deep = json!({"value": "1"});
    for _ in 0..1000 {
        deep = json!({"not": deep});
    }
    assert!(refused(deep).message.contains("nested deeper"));
    let long: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
    assert!(refused(json!({"value__in": long}))
        .message
        .contains("list of 1 to 500"));
    let many: Vec<Value> = (0..300)
        .map(|i| json!({"title": format!("t{i}")}))
        .collect();
    assert!(refused(json!({"any": many}))
        .message
        .contains("more than 200"));
    let wide: Vec<Value> = (0..150)
        .map(|i| json!({"all": [{"title": format!("a{i}")}, {"value": "1"}]}))
        .collect();
    assert!(refused(json!({"any": wide}))
        .message
        .contains("at most 200 conditions"));
    assert!(refused(json!({"title": "x".repeat(1001)}))
        .message
        .contains("longer than"));
    assert!(refused(json!({"title": "a\u{0}b"})).message.contains("NUL"));
}

#[test]
fn every_condition_is_listed_once_with_its_path() {
    let rule = json!({"value": "1", "any": [{"title": "a"}, {"not": {"status": "draft"}}]});
    assert_eq!(compile(&rule, 1).unwrap().conditions.len(), 3);
}

#[test]
fn facts_are_what_every_matching_contract_must_have() {
    let facts = necessary_facts(
        &json!({"value__gte": "500000", "contract_type__in": ["msa", "sow"],
        "all": [{"type": "msa"}, {"value__gt": 750000}], "any": [{"value": "9000000"}]}),
    );
    assert_eq!(facts.types, Some(vec!["msa".to_owned()]));
    assert_eq!(facts.min_value.as_deref(), Some("750000"));
    assert_eq!(
        necessary_facts(&json!({"any": [{"type": "msa"}], "not": {"value__lt": "5"}})),
        Facts::default()
    );
    assert_eq!(
        necessary_facts(&json!({"value__range": ["10", "20"]}))
            .min_value
            .as_deref(),
        Some("10")
    );
}
