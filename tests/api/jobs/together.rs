//! Deadline timers of one tenant that are due together run in one unit of work: each
//! once, each in its own savepoint, a failing one retried alone, one not yet due by its
//! own deadline put back, another tenant's never touched, and the commit waiting for
//! the WAL flush only with durable bookkeeping.

use serde::{Deserialize, Serialize};

use super::*;
use pactum::kernel::jobs::{JobContext, MOST_TOGETHER};
use pactum::kernel::DomainError;
use pactum::sla::{run_timer, Timer};
use pactum::tenancy::scoped::TenantTx;

const PROBE: JobKind = JobKind {
    name: "test.probe_timer",
    max_attempts: 5,
    ..RECORD
};

/// A timer that writes a row saying which transaction fired it (and how that
/// transaction commits) into its tenant's `fired` table; `fail` makes it fail after
/// writing, so only a rollback keeps the row out.
#[derive(Debug, Serialize, Deserialize)]
struct Probe {
    n: i32,
    #[serde(default)]
    fail: bool,
    #[serde(default)]
    not_before: Option<DateTime<Utc>>,
}

impl Timer for Probe {
    fn not_before(&self) -> Option<DateTime<Utc>> {
        self.not_before
    }

    async fn fire(&self, tx: &TenantTx, origin: &Origin) -> Result<bool, DomainError> {
        let Origin::Job { job_id, .. } = origin else {
            panic!("a timer runs as a job");
        };
        tx.execute(
            "insert into fired (n, job_id, xid, commit_mode) \
             values ($1, $2, txid_current(), current_setting('synchronous_commit'))",
            &[&self.n, job_id],
        )
        .await?;
        if self.fail {
            return Err(DomainError::Conflict("probe", "the probe fails".into()));
        }
        Ok(true)
    }
}

impl BackgroundJob for Probe {
    const KIND: JobKind = PROBE;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        run_timer(self, ctx).await
    }
}

/// Probes numbered `ns` that succeed, due at `at`.
fn plain_probes(ns: std::ops::Range<i32>, at: DateTime<Utc>) -> Vec<NewJob> {
    ns.map(|n| {
        let probe = Probe {
            n,
            fail: false,
            not_before: None,
        };
        NewJob::at(PROBE, probe.args(), at)
    })
    .collect()
}

/// `slugs` with a `fired` table each, writable by the tenant's role.
async fn probing(slugs: &[&'static str]) -> Queue {
    let queue = Queue::with_tenants(slugs).await;
    for slug in slugs {
        let role = queue.roles[slug].as_ref().expect("tenants have roles");
        queue
            .client
            .batch_execute(&format!(
                "create table t_{slug}.fired (n int not null, job_id int8 not null, \
                     xid int8 not null, commit_mode text not null); \
                 grant select, insert on t_{slug}.fired to {}",
                role.quoted()
            ))
            .await
            .unwrap();
    }
    queue
}

fn probe_runner(queue: &Queue, workers: usize, durable: bool, together: usize) -> Runner {
    let mut handlers = Handlers::default();
    handlers.register_job::<Probe>(());
    let mut config = RunnerConfig::new(workers);
    config.poll_interval = Duration::from_millis(100);
    config.durable_bookkeeping = durable;
    config.together = together;
    Runner::new(
        queue.pool(2),
        queue.pool(workers + 1),
        Some(queue.db.database_url()),
        clock::system(),
        handlers,
        config,
        JobMetrics::new(),
    )
}

/// (n, job id, transaction, commit mode) of what fired in `slug`, by n.
async fn fired(queue: &Queue, slug: &str) -> Vec<(i32, i64, i64, String)> {
    queue
        .client
        .query(
            &format!("select n, job_id, xid, commit_mode from t_{slug}.fired order by n"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

/// (state, attempt, errors) of job `id`.
async fn job(queue: &Queue, id: i64) -> (String, i32, serde_json::Value) {
    let row = queue
        .client
        .query_one(
            "select state, attempt, errors from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn a_tenants_due_timers_fire_together_each_once_and_a_failing_one_alone() {
    let queue = probing(&["acme", "globex"]).await;
    let past = Utc::now() - chrono::Duration::seconds(5);
    let later = Utc::now() + chrono::Duration::hours(1);
    // Twelve of acme's timers due, the ninth failing, the tenth scheduled in the past
    // but carrying a deadline an hour away; three of globex's.
    let acme: Vec<NewJob> = (0..12)
        .map(|n| {
            let probe = Probe {
                n,
                fail: n == 8,
                not_before: (n == 9).then_some(later),
            };
            NewJob::at(PROBE, probe.args(), past)
        })
        .collect();
    let acme = queue.enqueue_at("acme", past, acme).await;
    let globex = plain_probes(100..103, past);
    let globex = queue.enqueue_at("globex", past, globex).await;
    let handle = probe_runner(&queue, 1, false, MOST_TOGETHER).start().await;
    for id in acme.iter().chain(&globex) {
        if *id != acme[8] && *id != acme[9] {
            queue
                .wait_for_state(*id, "completed", Duration::from_secs(20))
                .await;
        }
    }
    wait_until_state(&queue, acme[8], "retryable").await;
    wait_until_state(&queue, acme[9], "retryable").await;
    handle.shutdown().await;

    let acme_fired = fired(&queue, "acme").await;
    let fired_n: Vec<i32> = acme_fired.iter().map(|f| f.0).collect();
    assert_eq!(
        fired_n,
        [0, 1, 2, 3, 4, 5, 6, 7, 10, 11],
        "each due timer once; the failing one's row rolled back with its savepoint, the \
         one not yet due by its deadline not fired"
    );
    // Every row names the job it was fired for, the timer's own.
    for (n, job_id, _, _) in &acme_fired {
        assert_eq!(*job_id, acme[*n as usize], "timer {n}");
    }
    let transactions: std::collections::HashSet<i64> = acme_fired.iter().map(|f| f.2).collect();
    assert_eq!(
        transactions.len(),
        1,
        "one worker took acme's due timers together: {acme_fired:?}"
    );
    assert!(acme_fired.iter().all(|f| f.3 == "off"), "{acme_fired:?}");
    // The other tenant's in its own schema, its own transaction, none in acme's.
    let globex_fired = fired(&queue, "globex").await;
    assert_eq!(
        globex_fired.iter().map(|f| f.0).collect::<Vec<_>>(),
        [100, 101, 102]
    );
    let globex_transactions: std::collections::HashSet<i64> =
        globex_fired.iter().map(|f| f.2).collect();
    assert_eq!(globex_transactions.len(), 1);
    assert!(globex_transactions.is_disjoint(&transactions));

    for (n, id) in acme.iter().enumerate() {
        let (state, attempt, errors) = job(&queue, *id).await;
        match n {
            8 => {
                // Failed as a sibling and (perhaps) again alone: an attempt each,
                // the reason kept.
                assert_eq!(state, "retryable");
                assert!((1..=2).contains(&attempt), "{attempt}");
                assert!(errors.to_string().contains("the probe fails"), "{errors}");
            }
            9 => {
                // Put back untried, then run alone: not due, so scheduled for its
                // deadline.
                assert_eq!(state, "retryable");
                assert_eq!(attempt, 1, "only its own run counts: {errors}");
                assert!(errors.to_string().contains("not due until"), "{errors}");
                let run_at: DateTime<Utc> = queue
                    .client
                    .query_one("select run_at from public.jobs where id = $1", &[id])
                    .await
                    .unwrap()
                    .get(0);
                assert!((run_at - later).num_milliseconds().abs() < 5, "{run_at}");
            }
            _ => assert_eq!((state.as_str(), attempt), ("completed", 1), "timer {n}"),
        }
    }
}

/// Told to take none together (`PACTUM_JOB_TOGETHER=0`), the runner runs each timer in a
/// transaction of its own.
#[tokio::test]
async fn with_none_taken_together_each_timer_has_its_own_transaction() {
    let queue = probing(&["acme"]).await;
    let past = Utc::now() - chrono::Duration::seconds(5);
    let jobs = plain_probes(0..5, past);
    let ids = queue.enqueue_at("acme", past, jobs).await;
    let handle = probe_runner(&queue, 1, false, 0).start().await;
    for id in &ids {
        wait_until_state(&queue, *id, "completed").await;
    }
    handle.shutdown().await;
    let transactions: std::collections::HashSet<i64> =
        fired(&queue, "acme").await.iter().map(|f| f.2).collect();
    assert_eq!(transactions.len(), 5);
}

async fn wait_until_state(queue: &Queue, id: i64, wanted: &str) {
    queue
        .wait_for_state(id, wanted, Duration::from_secs(20))
        .await;
}

/// A deadline timer's transaction (and the siblings it takes) commits without waiting
/// for the WAL flush unless the runner's bookkeeping is durable: its jobs' completions
/// commit in it, so a crash loses the work and the completions together.
#[tokio::test]
async fn timers_commit_without_the_flush_only_when_bookkeeping_is_not_durable() {
    let queue = probing(&["acme"]).await;
    let session: String = queue
        .client
        .query_one("show synchronous_commit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        session, "on",
        "the test needs a server that waits for the flush"
    );
    for (round, durable) in [false, true].into_iter().enumerate() {
        let n = round as i32 * 10;
        let ids = queue
            .enqueue("acme", plain_probes(n..n + 3, Utc::now()))
            .await;
        let handle = probe_runner(&queue, 1, durable, MOST_TOGETHER)
            .start()
            .await;
        for id in &ids {
            wait_until_state(&queue, *id, "completed").await;
        }
        handle.shutdown().await;
        let expected = if durable { "on" } else { "off" };
        let modes: Vec<String> = fired(&queue, "acme")
            .await
            .into_iter()
            .filter(|f| (n..n + 3).contains(&f.0))
            .map(|f| f.3)
            .collect();
        assert_eq!(modes, [expected; 3], "durable bookkeeping: {durable}");
    }
}
