//! The embedding model: a BERT-family sentence encoder (all-MiniLM-L6-v2 by default,
//! installed by `scripts/model.sh`) run with candle on the CPU. A text becomes a unit
//! vector of [`DIMENSIONS`] numbers (mean of its tokens' last hidden states, then
//! L2-normalised), so the dot product of two is their cosine similarity.

use std::path::Path;

use anyhow::{bail, Context};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// The length of every vector the model makes.
pub const DIMENSIONS: usize = 384;

/// The most tokens of a text the model reads (all-MiniLM-L6-v2 was trained on 256);
/// the rest of a longer text is not read, so passages stay below it.
pub const MAX_TOKENS: usize = 256;

/// Texts embedded in one forward pass: larger batches pad more and gain little on CPU.
pub const BATCH: usize = 16;

/// The largest weights file loaded (all-MiniLM-L6-v2's is 91 MB).
const MAX_WEIGHTS_BYTES: u64 = 512 * 1024 * 1024;

/// A loaded model and its tokenizer.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    identity: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model in `dir` (`config.json`, `tokenizer.json`, `model.safetensors`).
    /// Its identity is the folder's name and the weights' SHA-256, so vectors made by
    /// another model are told apart and made again.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .with_context(|| format!("reading {}", dir.join(name).display()))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .context("config.json is not a BERT configuration")?;
        let weights_path = dir.join("model.safetensors");
        let size = std::fs::metadata(&weights_path)
            .with_context(|| format!("reading {}", weights_path.display()))?
            .len();
        if size > MAX_WEIGHTS_BYTES {
            bail!(
                "{} is {size} bytes, more than a small sentence model",
                weights_path.display()
            );
        }
        let weights = read("model.safetensors")?;
        let digest = hex(&Sha256::digest(&weights));
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let model = BertModel::load(vb, &config).context("model.safetensors is not this BERT")?;
        if config.hidden_size != DIMENSIONS {
            bail!(
                "the model makes {}-number vectors; Pactum keeps {DIMENSIONS}",
                config.hidden_size
            );
        }
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| anyhow::anyhow!("tokenizer.json: {e}"))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer.json: {e}"))?;
        let name = dir
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            model,
            tokenizer,
            device,
            identity: format!("{name}@{}", &digest[..16]),
        })
    }

    /// The model's name and a prefix of its weights' SHA-256, e.g.
    /// `all-MiniLM-L6-v2@53aa51172d142c89`.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The unit vector of each text, in order. CPU work for tens of milliseconds per
    /// text: callers run it on a blocking thread.
    pub fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(self.embed_batch(batch)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let rows = |f: fn(&tokenizers::Encoding) -> &[u32]| -> anyhow::Result<Tensor> {
            let rows = encodings
                .iter()
                .map(|e| Tensor::new(f(e), &self.device))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Tensor::stack(&rows, 0)?)
        };
        let ids = rows(tokenizers::Encoding::get_ids)?;
        let mask = rows(tokenizers::Encoding::get_attention_mask)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean of the real tokens' states (padding masked out), then unit length.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let pooled = summed.broadcast_div(&mask.sum(1)?)?;
        let norms = pooled.sqr()?.sum_keepdim(1)?.sqrt()?;
        Ok(pooled.broadcast_div(&norms)?.to_vec2()?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
