//! The one wasmtime `Engine` of the process, and its epoch clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{Config, Engine, InstanceAllocationStrategy};

/// How often the epoch advances. Deadlines are whole ticks, so this is their resolution; a tick
/// is a relaxed atomic increment, so 10 ms costs nothing measurable.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The shared engine: one compiler configuration, one code cache directory, one epoch clock.
#[derive(Clone)]
pub struct SandboxEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    cache_dir: Option<PathBuf>,
}

impl SandboxEngine {
    /// `cache_dir`: where compiled components are kept by content hash (`None`: no disk cache).
    pub fn new(cache_dir: Option<&Path>) -> anyhow::Result<SandboxEngine> {
        let mut config = Config::new();
        // Synchronous calls only: without the async machinery a host→guest call costs ~113 ns
        // instead of ~363 ns (measured with wasmtime 48 on the project's machines).
        config.concurrency_support(false);
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        // Instances are allocated on demand, not from a pooling allocator. A pool is sized up
        // front (it refused the 129th tenant when it held 128 instances) and reserves address
        // space for every slot whether used or not; it pays off when instances are created at a
        // high rate, and sinks are long-lived: one instance per tenant for the whole run,
        // re-created only after a trap. On demand, an instance costs what it uses, so the tenant
        // count is bounded by memory, not by a setting. (Each linear memory still reserves 4 GiB
        // of address space, which is what lets compiled code skip bounds checks: 10,000
        // one-memory sinks reserve 40 TiB of the 128 TiB a process has.)
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("configuring the WebAssembly engine")?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .context("starting the epoch ticker")?;
        Ok(SandboxEngine {
            inner: Arc::new(Inner {
                engine,
                cache_dir: cache_dir.map(Path::to_path_buf),
            }),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn cache_dir(&self) -> Option<&Path> {
        self.inner.cache_dir.as_deref()
    }

    /// Epoch ticks covering `deadline` (at least one).
    pub fn ticks(deadline: Duration) -> u64 {
        (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
