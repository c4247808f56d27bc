//! Compile a component once and keep the machine code on disk, keyed by content.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::SandboxEngine;

impl SandboxEngine {
    /// Compiles `wasm` (a component's bytes), or loads the result of an earlier compile of the
    /// same bytes by the same engine configuration from the cache directory. `shown` names the
    /// component in the log.
    ///
    /// Compiling a sink with Cranelift takes from tens of milliseconds to seconds (a Python sink:
    /// 22 s); restarts and the tenants that share a component should not pay it again. A compile
    /// is said at INFO, so that a long pause at the start is explained.
    pub fn compile(&self, wasm: &[u8], shown: &str) -> anyhow::Result<Component> {
        let Some(path) = self.cache_path(wasm) else {
            tracing::info!("compiling {shown} (no compile cache)");
            return Ok(Component::new(self.engine(), wasm)?);
        };
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of an engine with the same
            // compatibility hash (it is part of the file name) into our own state directory.
            match unsafe { Component::deserialize_file(self.engine(), &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable compile cache entry: {e}")
                }
            }
        }
        tracing::info!("compiling {shown} for the first time (cached afterwards)");
        let component = Component::new(self.engine(), wasm)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!(path = %path.display(), "could not write compile cache: {e:#}");
        }
        Ok(component)
    }

    fn cache_path(&self, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.cache_dir()?;
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        self.engine()
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let digest = Sha256::new()
            .chain_update(engine_hash.finish().to_le_bytes())
            .chain_update(wasm)
            .finalize();
        Some(dir.join(format!("{}.cwasm", hex::encode(digest))))
    }
}

fn store(path: &std::path::Path, component: &Component) -> anyhow::Result<()> {
    let dir = path.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), bytes)?;
    tmp.persist(path)?;
    Ok(())
}
