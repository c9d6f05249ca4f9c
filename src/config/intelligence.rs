//! The settings of reading by meaning: the model's folder and the loaded vectors'
//! memory and index threshold.

use std::path::PathBuf;

use super::{invalid, ranged, ConfigError};

pub(super) struct Settings {
    pub model_dir: Option<PathBuf>,
    pub vector_memory_bytes: usize,
    pub vector_exact_max: usize,
}

pub(super) fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let model_dir = get("PACTUM_MODEL_DIR").map(|v| PathBuf::from(v.trim()));
    if let Some(dir) = &model_dir {
        if !dir.join("model.safetensors").is_file() {
            return Err(invalid(
                "PACTUM_MODEL_DIR",
                format!(
                    "{} holds no model.safetensors (scripts/model.sh installs the model)",
                    dir.display()
                ),
            ));
        }
    }
    let vector_memory_bytes = ranged(
        "PACTUM_VECTOR_MEMORY_MB",
        get("PACTUM_VECTOR_MEMORY_MB"),
        1..=1_048_576,
        256,
    )? as usize
        * 1024
        * 1024;
    let vector_exact_max = ranged(
        "PACTUM_VECTOR_EXACT_MAX",
        get("PACTUM_VECTOR_EXACT_MAX"),
        1..=100_000_000,
        1_000_000,
    )? as usize;
    Ok(Settings {
        model_dir,
        vector_memory_bytes,
        vector_exact_max,
    })
}
