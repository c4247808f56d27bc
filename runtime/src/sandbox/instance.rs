//! One running sink: a `Store`, its instance, and the rules for calling into it.

use wasmtime::component::{Component, Linker};
use wasmtime::{Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;

use super::bindings::{Batch, SinkComponent, SinkComponentPre, SinkError};
use super::state::StoreState;
use super::{SandboxEngine, SinkLimits};

/// How a call into a sink failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The sink returned an error of its own.
    #[error("{}", .0.message)]
    Sink(SinkError),
    /// The guest trapped: a panic, an out-of-bounds access, the memory cap or the CPU deadline.
    /// The instance is unusable afterwards and has been dropped.
    #[error("sink trapped: {0}")]
    Trap(String),
}

impl CallError {
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Sink(e) => e.retryable,
            CallError::Trap(_) => true,
        }
    }
}

/// Where a sink's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// The process's own stdout/stderr: for the single-sink CLI, where the operator chose the
    /// sink and its output (e.g. `stdout-json`) is the point.
    Inherit,
    /// Discarded.
    Null,
}

/// A sink instance, re-created from its pre-instantiated form whenever it traps.
pub struct SinkInstance {
    engine: SandboxEngine,
    pre: SinkComponentPre<StoreState>,
    limits: SinkLimits,
    stdio: Stdio,
    config: Vec<(String, String)>,
    live: Option<(Store<StoreState>, SinkComponent)>,
}

impl SinkInstance {
    /// Links the component against the capabilities a sink may have and prepares instantiation.
    /// Fails when the component imports something the runtime does not provide.
    pub fn new(
        engine: &SandboxEngine,
        component: &Component,
        limits: SinkLimits,
        stdio: Stdio,
        config: Vec<(String, String)>,
    ) -> anyhow::Result<SinkInstance> {
        let mut linker = Linker::<StoreState>::new(engine.engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = linker.instantiate_pre(component).map_err(|e| {
            anyhow::anyhow!(
                "the sink imports something this runtime does not provide: {e}; sinks may import \
                 only WASI interfaces"
            )
        })?;
        Ok(SinkInstance {
            engine: engine.clone(),
            pre: SinkComponentPre::new(pre)?,
            limits,
            stdio,
            config,
            live: None,
        })
    }

    /// Instantiates the sink (if it is not live) and calls `connect` with its configuration.
    pub fn connect(&mut self) -> Result<(), CallError> {
        let (mut store, bindings) = self.instantiate()?;
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_deadline));
        let result = bindings
            .conduit_sink_sink()
            .call_connect(&mut store, &self.config);
        match result {
            Ok(Ok(())) => {
                self.live = Some((store, bindings));
                Ok(())
            }
            Ok(Err(e)) => Err(CallError::Sink(e)),
            Err(trap) => Err(CallError::Trap(describe_trap(&trap, &self.limits))),
        }
    }

    pub fn publish(&mut self, batch: &Batch) -> Result<(), CallError> {
        if self.live.is_none() {
            self.connect()?;
        }
        let (store, bindings) = self.live.as_mut().expect("connected above");
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_deadline));
        match bindings
            .conduit_sink_sink()
            .call_publish(&mut *store, batch)
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallError::Sink(e)),
            Err(trap) => {
                let message = describe_trap(&trap, &self.limits);
                self.live = None;
                Err(CallError::Trap(message))
            }
        }
    }

    /// Calls `close` on a live instance and drops it.
    pub fn close(&mut self) -> Result<(), CallError> {
        let Some((mut store, bindings)) = self.live.take() else {
            return Ok(());
        };
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_deadline));
        match bindings.conduit_sink_sink().call_close(&mut store) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallError::Sink(e)),
            Err(trap) => Err(CallError::Trap(describe_trap(&trap, &self.limits))),
        }
    }

    fn instantiate(&mut self) -> Result<(Store<StoreState>, SinkComponent), CallError> {
        self.live = None;
        let mut wasi = WasiCtxBuilder::new();
        if self.stdio == Stdio::Inherit {
            wasi.inherit_stdout().inherit_stderr();
        }
        let state = StoreState {
            wasi: wasi.build(),
            table: Default::default(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_deadline));
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| CallError::Trap(format!("instantiation failed: {e:#}")))?;
        Ok((store, bindings))
    }
}

/// Names the limit a trap came from, so an operator knows which knob to turn.
fn describe_trap(trap: &wasmtime::Error, limits: &SinkLimits) -> String {
    match trap.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => format!(
            "exceeded its CPU deadline of {:?} per call",
            limits.call_deadline
        ),
        _ => {
            let text = format!("{trap:#}");
            if text.contains("memory") && text.contains("grow") || text.contains("limit") {
                format!("{text} (memory cap {} MiB)", limits.memory_bytes >> 20)
            } else {
                text
            }
        }
    }
}
