//! Unit tests of [`super`]: pure logic, no database.

use super::*;
use std::collections::HashMap;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

const DB: (&str, &str) = ("DATABASE_URL", "postgres://postgres@127.0.0.1/pactum");
const SECRET: (&str, &str) = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");

#[test]
fn defaults_apply_when_only_the_required_values_are_set() {
    let config = load(&[DB, SECRET]).unwrap();
    assert_eq!(config.bind, "127.0.0.1:8000".parse().unwrap());
    assert_eq!(config.public_host.as_str(), "localhost");
    assert_eq!(config.pool_size, DEFAULT_POOL_SIZE);
    assert!(!config.trust_proxy);
    assert!(!config.jwt_secret_generated);
    assert_eq!(config.pooler, Pooler::None);
    assert_eq!(config.pool_strategy, PoolStrategy::default());
    assert_eq!(
        format!("{:?}", config.direct_database_url),
        format!("{:?}", config.database_url)
    );
}

#[test]
fn the_home_queue_of_the_pool_can_be_set() {
    let config = load(&[DB, SECRET, ("PACTUM_DB_HOME_QUEUE", "4")]).unwrap();
    assert_eq!(config.pool_strategy.home_queue_limit, 4);
    let never_wait = load(&[DB, SECRET, ("PACTUM_DB_HOME_QUEUE", "0")]).unwrap();
    assert_eq!(never_wait.pool_strategy.home_queue_limit, 0);
}

#[test]
fn generic_plans_are_on_unless_turned_off() {
    let config = load(&[DB, SECRET]).unwrap();
    assert!(config.pool_strategy.generic_plans);
    let off = load(&[DB, SECRET, ("PACTUM_DB_GENERIC_PLANS", "off")]).unwrap();
    assert!(!off.pool_strategy.generic_plans);
}

#[test]
fn a_transaction_pooler_needs_a_direct_url() {
    let pooled = ("PACTUM_DB_POOLER", "transaction");
    let error = load(&[DB, SECRET, pooled]).unwrap_err();
    assert_eq!(error.variable, "PACTUM_DIRECT_DATABASE_URL");
    let config = load(&[
        ("DATABASE_URL", "postgres://app@127.0.0.1:6432/pactum"),
        SECRET,
        pooled,
        (
            "PACTUM_DIRECT_DATABASE_URL",
            "postgres://app@127.0.0.1:5432/pactum",
        ),
    ])
    .unwrap();
    assert_eq!(config.pooler, Pooler::Transaction);
    assert_eq!(
        format!("{:?}", config.direct_database_url),
        "127.0.0.1:5432/pactum"
    );
}

#[test]
fn each_bad_value_names_its_variable() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![SECRET], "DATABASE_URL"),
        (
            vec![DB, SECRET, ("PACTUM_DB_POOLER", "session")],
            "PACTUM_DB_POOLER",
        ),
        (
            vec![DB, SECRET, ("PACTUM_DB_TENANT_AFFINITY", "sometimes")],
            "PACTUM_DB_TENANT_AFFINITY",
        ),
        (
            vec![DB, SECRET, ("PACTUM_DB_GENERIC_PLANS", "mostly")],
            "PACTUM_DB_GENERIC_PLANS",
        ),
        (
            vec![
                DB,
                SECRET,
                ("PACTUM_DIRECT_DATABASE_URL", "postgres://:::/"),
            ],
            "PACTUM_DIRECT_DATABASE_URL",
        ),
        (vec![DB], "JWT_SECRET"),
        (vec![DB, ("JWT_SECRET", "short")], "JWT_SECRET"),
        (vec![DB, SECRET, ("PACTUM_BIND", "8000")], "PACTUM_BIND"),
        (
            vec![DB, SECRET, ("PACTUM_PUBLIC_HOST", "x:80")],
            "PACTUM_PUBLIC_HOST",
        ),
        (
            vec![DB, SECRET, ("PACTUM_DB_POOL_SIZE", "0")],
            "PACTUM_DB_POOL_SIZE",
        ),
        (
            vec![DB, SECRET, ("PACTUM_DB_HOME_QUEUE", "1025")],
            "PACTUM_DB_HOME_QUEUE",
        ),
        (
            vec![DB, SECRET, ("PACTUM_DB_HOME_QUEUE", "-1")],
            "PACTUM_DB_HOME_QUEUE",
        ),
        (vec![DB, SECRET, ("REDIS_URL", "localhost")], "REDIS_URL"),
        (
            vec![DB, SECRET, ("PACTUM_TRUST_PROXY", "maybe")],
            "PACTUM_TRUST_PROXY",
        ),
        (
            vec![DB, SECRET, ("PACTUM_LOG_FORMAT", "xml")],
            "PACTUM_LOG_FORMAT",
        ),
        (
            vec![("DATABASE_URL", "postgres://:::/"), SECRET],
            "DATABASE_URL",
        ),
        (
            vec![DB, SECRET, ("PACTUM_JOB_QUEUES", "default,intelligence")],
            "PACTUM_JOB_QUEUES",
        ),
        (
            vec![DB, SECRET, ("PACTUM_MODEL_DIR", "/nonexistent/model")],
            "PACTUM_MODEL_DIR",
        ),
        (
            vec![DB, SECRET, ("PACTUM_VECTOR_MEMORY_MB", "0")],
            "PACTUM_VECTOR_MEMORY_MB",
        ),
        (
            vec![DB, SECRET, ("PACTUM_VECTOR_EXACT_MAX", "0")],
            "PACTUM_VECTOR_EXACT_MAX",
        ),
    ];
    for (vars, variable) in cases {
        let error = load(&vars).unwrap_err();
        assert_eq!(error.variable, variable, "{vars:?}");
        assert!(error.to_string().starts_with(variable));
    }
}

#[test]
fn development_mode_generates_a_secret_and_says_so() {
    let config = load(&[DB, ("PACTUM_DEV", "1")]).unwrap();
    assert!(config.jwt_secret_generated);
    assert!(config.jwt_secret.expose().len() >= MIN_JWT_SECRET_BYTES);
    assert!(!format!("{config:?}").contains(config.jwt_secret.expose()));
}

#[test]
fn the_model_queue_is_claimed_by_default_only_with_a_model() {
    let without = load(&[DB, SECRET]).unwrap();
    assert!(!without.jobs.queues.iter().any(|q| q == "intelligence"));
    let dir = std::env::temp_dir().join(format!("pactum-model-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.safetensors"), b"").unwrap();
    let with = load(&[DB, SECRET, ("PACTUM_MODEL_DIR", dir.to_str().unwrap())]).unwrap();
    assert!(with.jobs.queues.iter().any(|q| q == "intelligence"));
    assert_eq!(with.model_dir.as_deref(), Some(dir.as_path()));
    std::fs::remove_dir_all(&dir).unwrap();
}
