//! Jobs as types, in the manner of crates.io's `BackgroundJob`: a job is a serde struct
//! (what is stored in `args`) that names its kind (queue, priority, attempts, timeout)
//! and says what running it does. Registering it by type parses the arguments once for
//! every handler, so no handler reads `job.args` by hand, and a payload that does not
//! parse (written by an older build, or by hand) ends the job with a clear reason
//! instead of a panic or a retry that can never succeed.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Handlers, JobContext, JobError, JobKind, NewJob};

/// A kind of job whose arguments are `Self`.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + 'static {
    /// Its kind: name, queue, priority, attempts, timeout.
    const KIND: JobKind;

    /// What running it needs from the process besides its tenant (an HTTP client, a
    /// mailer); `()` for nothing.
    type Env: Clone + Send + Sync + 'static;

    /// Runs the job for the tenant in `ctx`. It runs at least once: make it idempotent.
    fn run(
        self,
        ctx: JobContext,
        env: Self::Env,
    ) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Its arguments as stored.
    fn args(&self) -> Value {
        // A struct of plain fields always serialises; Null would be refused on parse.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// This job, to run as soon as a worker is free.
    fn now(&self) -> NewJob {
        NewJob::now(Self::KIND, self.args())
    }

    /// This job, to run when the clock passes `at` (a timer).
    fn at(&self, at: DateTime<Utc>) -> NewJob {
        NewJob::at(Self::KIND, self.args(), at)
    }
}

/// `args` as the job `J`, or the reason it cannot be one (which ends the job: the
/// payload will not change by trying again).
pub fn parse<J: BackgroundJob>(args: &Value) -> Result<J, JobError> {
    J::deserialize(args).map_err(|error| {
        let mut shown = args.to_string();
        if shown.chars().count() > 200 {
            shown = format!("{}...", crate::validate::truncate(&shown, 200));
        }
        JobError::Cancel(format!(
            "malformed arguments for {}: {error}: {shown}",
            J::KIND.name
        ))
    })
}

impl Handlers {
    /// Registers the job type `J` with what it needs from the process.
    pub fn register_job<J: BackgroundJob>(&mut self, env: J::Env) -> &mut Self {
        self.register(J::KIND, move |ctx: JobContext| {
            let env = env.clone();
            async move {
                let job = parse::<J>(&ctx.job.args)?;
                job.run(ctx, env).await
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Probe {
        stage_id: uuid::Uuid,
        #[serde(default)]
        hours_before: f64,
    }

    impl BackgroundJob for Probe {
        const KIND: JobKind = super::super::NOOP;
        type Env = ();
        async fn run(self, _: JobContext, (): ()) -> Result<(), JobError> {
            Ok(())
        }
    }

    #[test]
    fn arguments_round_trip_and_a_malformed_payload_is_a_clear_cancellation() {
        let probe = Probe {
            stage_id: uuid::Uuid::nil(),
            hours_before: 2.5,
        };
        assert_eq!(parse::<Probe>(&probe.args()).unwrap(), probe);
        // Fields an older build wrote and this one does not read are ignored.
        let older = json!({"stage_id": uuid::Uuid::nil(), "due_at": "2026-01-01T00:00:00Z"});
        assert_eq!(parse::<Probe>(&older).unwrap().hours_before, 0.0);
        for bad in [
            json!({"stage_id": "not a uuid"}),
            json!([1, 2]),
            json!(null),
            json!({}),
        ] {
            match parse::<Probe>(&bad) {
                Err(JobError::Cancel(reason)) => {
                    assert!(
                        reason.starts_with("malformed arguments for pactum.noop: "),
                        "{reason}"
                    );
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let huge = json!({"stage_id": "x".repeat(10_000)});
        let Err(JobError::Cancel(reason)) = parse::<Probe>(&huge) else {
            panic!("refused");
        };
        assert!(reason.len() < 600, "{}", reason.len());
    }
}
