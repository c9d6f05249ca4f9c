//! The process's one embedding model and the vectors it has loaded. The model loads on
//! first use (a second or two), on a blocking thread; embedding runs there too, one
//! batch at a time for the whole process, so reading contracts never takes both cores
//! from the requests. Loaded vectors are kept per tenant under one memory budget
//! ([`pactum_embedding::cache`]), keyed by the tenant the request or job resolved:
//! a tenant's search only ever sees the set loaded from its own schema.

use std::path::PathBuf;
use std::sync::Arc;

use pactum_embedding::cache::{Budgeted, Usage};
use pactum_embedding::index::Vectors;
use pactum_embedding::Embedder;
use tokio::sync::{OnceCell, Semaphore};

use crate::kernel::DomainError;
use crate::tenancy::TenantId;

/// Which of a tenant's vector sets: its contracts' passages or its clause library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VectorSet {
    Passages,
    Clauses,
}

struct Inner {
    dir: Option<PathBuf>,
    /// Sets larger than this get an approximate index.
    exact_max: usize,
    model: OnceCell<Arc<Embedder>>,
    /// One embedding at a time in this process.
    busy: Semaphore,
    vectors: Budgeted<(TenantId, VectorSet)>,
    gauges: Gauges,
}

/// What `/metrics` shows of the loaded vectors.
#[derive(Clone)]
struct Gauges {
    bytes: prometheus::IntGauge,
    sets: prometheus::IntGauge,
    evictions: prometheus::IntGauge,
}

impl Gauges {
    fn new() -> Self {
        let gauge = |name: &str, help: &str| {
            prometheus::IntGauge::new(name, help).expect("a valid metric name")
        };
        Self {
            bytes: gauge(
                "pactum_vector_memory_bytes",
                "Memory the loaded vector sets of every tenant use",
            ),
            sets: gauge(
                "pactum_vector_sets",
                "Vector sets loaded (a tenant's passages or clauses)",
            ),
            evictions: gauge(
                "pactum_vector_evictions",
                "Vector sets dropped to stay within PACTUM_VECTOR_MEMORY_MB since the start",
            ),
        }
    }
}

/// The model (if configured) and the loaded vectors; cheap to clone.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl Engine {
    /// An engine for the model in `dir` (none: semantic features answer 409
    /// `model_unavailable`), with `memory_bytes` for every tenant's vectors, and an
    /// approximate index for sets of more than `exact_max` vectors.
    pub fn new(dir: Option<PathBuf>, memory_bytes: usize, exact_max: usize) -> Self {
        Self(Arc::new(Inner {
            dir,
            exact_max,
            model: OnceCell::new(),
            busy: Semaphore::new(1),
            vectors: Budgeted::new(memory_bytes),
            gauges: Gauges::new(),
        }))
    }

    /// The gauges `/metrics` shows of the loaded vectors.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        let g = &self.0.gauges;
        vec![
            Box::new(g.bytes.clone()),
            Box::new(g.sets.clone()),
            Box::new(g.evictions.clone()),
        ]
    }

    /// How many vectors a set may have and still be searched by scanning them all.
    pub fn exact_max(&self) -> usize {
        self.0.exact_max
    }

    /// Whether a model is configured.
    pub fn configured(&self) -> bool {
        self.0.dir.is_some()
    }

    /// The model, loading it on first use.
    pub async fn model(&self) -> Result<Arc<Embedder>, DomainError> {
        let Some(dir) = self.0.dir.clone() else {
            return Err(DomainError::Conflict(
                "model_unavailable",
                "this server has no embedding model (PACTUM_MODEL_DIR): full-text search \
                 (mode=text) works, meaning does not"
                    .into(),
            ));
        };
        self.0
            .model
            .get_or_try_init(|| async move {
                let loaded = tokio::task::spawn_blocking(move || Embedder::load(&dir))
                    .await
                    .map_err(|e| DomainError::Internal(anyhow::anyhow!("loading the model: {e}")))?
                    .map_err(|e| DomainError::Internal(e.context("loading the embedding model")))?;
                tracing::info!(model = loaded.identity(), "embedding model loaded");
                Ok(Arc::new(loaded))
            })
            .await
            .cloned()
    }

    /// The unit vectors of `texts`, in order, and the identity of the model that made
    /// them.
    ///
    /// One batch of the model's at a time, each in a turn of its own: the turns are
    /// handed out first come, first served, so a search's one text waits for the batch
    /// in progress, not for every passage of the contract being indexed.
    pub async fn embed(&self, texts: Vec<String>) -> Result<(Vec<Vec<f32>>, String), DomainError> {
        let model = self.model().await?;
        let identity = model.identity().to_owned();
        let mut vectors = Vec::with_capacity(texts.len());
        let mut texts = texts.into_iter().peekable();
        while texts.peek().is_some() {
            let batch: Vec<String> = texts.by_ref().take(pactum_embedding::BATCH).collect();
            let _turn = self
                .0
                .busy
                .acquire()
                .await
                .map_err(|e| DomainError::Internal(anyhow::anyhow!("embedding: {e}")))?;
            let model = model.clone();
            let part = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
                model.embed(&refs)
            })
            .await
            .map_err(|e| DomainError::Internal(anyhow::anyhow!("embedding: {e}")))?
            .map_err(|e| DomainError::Internal(e.context("embedding")))?;
            vectors.extend(part);
        }
        Ok((vectors, identity))
    }

    /// Whether no embedding is running in this process now.
    pub fn idle(&self) -> bool {
        self.0.busy.available_permits() > 0
    }

    /// `tenant`'s `set` as loaded at `generation`, if still kept.
    pub fn loaded(
        &self,
        tenant: TenantId,
        set: VectorSet,
        generation: i64,
    ) -> Option<Arc<Vectors>> {
        self.0.vectors.get(&(tenant, set), generation)
    }

    /// Keeps `tenant`'s `set` loaded at `generation` within the budget.
    pub fn keep(
        &self,
        tenant: TenantId,
        set: VectorSet,
        generation: i64,
        vectors: Vectors,
    ) -> Arc<Vectors> {
        let kept = self.0.vectors.put((tenant, set), generation, vectors);
        let usage = self.0.vectors.usage();
        let gauges = &self.0.gauges;
        gauges.bytes.set(usage.bytes as i64);
        gauges.sets.set(usage.sets as i64);
        gauges.evictions.set(usage.evictions as i64);
        kept
    }

    /// What the loaded vectors use.
    pub fn usage(&self) -> Usage {
        self.0.vectors.usage()
    }
}
