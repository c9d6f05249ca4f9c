//! The runner's metrics, registered into the server's (or the worker's) `/metrics`.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Counters and histograms of what this process's runner did; registered into the
/// server's `/metrics` registry.
#[derive(Clone)]
pub struct JobMetrics {
    pub finished: IntCounterVec,
    pub rescued: IntCounterVec,
    pub queue_wait: HistogramVec,
    pub run_time: HistogramVec,
}

impl JobMetrics {
    pub fn new() -> Self {
        let buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
        ];
        Self {
            finished: IntCounterVec::new(
                Opts::new(
                    "pactum_jobs_finished_total",
                    "Job attempts by kind and outcome (completed, retried, discarded, cancelled)",
                ),
                &["kind", "outcome"],
            )
            .expect("valid metric"),
            rescued: IntCounterVec::new(
                Opts::new(
                    "pactum_jobs_rescued_total",
                    "Running jobs whose lease expired (their worker died), by kind",
                ),
                &["kind"],
            )
            .expect("valid metric"),
            queue_wait: HistogramVec::new(
                HistogramOpts::new(
                    "pactum_job_queue_wait_seconds",
                    "From when a job was due to when a worker started it",
                )
                .buckets(buckets.clone()),
                &["kind"],
            )
            .expect("valid metric"),
            run_time: HistogramVec::new(
                HistogramOpts::new("pactum_job_run_seconds", "How long a job attempt ran")
                    .buckets(buckets),
                &["kind"],
            )
            .expect("valid metric"),
        }
    }

    pub fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.finished.clone()))?;
        registry.register(Box::new(self.rescued.clone()))?;
        registry.register(Box::new(self.queue_wait.clone()))?;
        registry.register(Box::new(self.run_time.clone()))?;
        Ok(())
    }
}

impl Default for JobMetrics {
    fn default() -> Self {
        Self::new()
    }
}
