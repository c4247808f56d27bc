//! One running sink: a `Store`, its instance, and the rules for calling into it.

use wasmtime::component::{Component, Linker};
use wasmtime::{Store, StoreLimitsBuilder};

use super::bindings::{Batch, SinkComponent, SinkComponentPre, SinkError};
use super::capabilities::{Capabilities, Output};
use super::contract::Contract;
use super::output::GuestLog;
use super::output_file::OutputFile;
use super::state::StoreState;
use super::v0_1::{SinkV01, SinkV01Pre};
use super::{SandboxEngine, SinkLimits};

/// How a call into a sink failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The sink returned an error of its own, or the host could not deliver what the call wrote
    /// to its stdout file (`capabilities.stdout`: a full disk, an I/O error), which is retryable:
    /// a call whose output is not durable is not accepted.
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

/// A component linked against the host's imports, ready to instantiate: made once per distinct
/// sink file and shared (a clone is a reference count) by every tenant that runs it, so that a
/// thousand tenants of one component link it once, not a thousand times.
#[derive(Clone)]
pub struct SinkPre {
    engine: SandboxEngine,
    pre: Pre,
}

/// A sink instance, re-created from its pre-instantiated form whenever it traps.
pub struct SinkInstance {
    engine: SandboxEngine,
    pre: Pre,
    limits: SinkLimits,
    capabilities: Capabilities,
    config: Vec<(String, String)>,
    live: Option<Live>,
}

struct Live {
    store: Store<StoreState>,
    bindings: Bindings,
    logs: Vec<GuestLog>,
    /// Delivery: the stdout file that must be durable before a call counts as accepted.
    file: Option<OutputFile>,
    /// The single-sink CLI: the process's stdout, flushed after each call.
    inherit: bool,
}

/// The component, linked, by the contract version it was built against.
#[derive(Clone)]
enum Pre {
    Current(SinkComponentPre<StoreState>),
    V0_1(SinkV01Pre),
}

/// A live instance's exports, by contract version.
enum Bindings {
    Current(SinkComponent),
    V0_1(SinkV01),
}

type Call = wasmtime::Result<Result<(), SinkError>>;

impl Bindings {
    fn connect(&self, store: &mut Store<StoreState>, config: &Vec<(String, String)>) -> Call {
        match self {
            Bindings::Current(b) => b.conduit_sink_sink().call_connect(store, config),
            Bindings::V0_1(b) => b.call_connect(store, config),
        }
    }

    /// A sink built against 0.1.0 receives snapshot reads as inserts.
    fn publish(&self, store: &mut Store<StoreState>, batch: &Batch) -> Call {
        match self {
            Bindings::Current(b) => b.conduit_sink_sink().call_publish(store, batch),
            Bindings::V0_1(b) => b.call_publish(store, batch),
        }
    }

    fn close(&self, store: &mut Store<StoreState>) -> Call {
        match self {
            Bindings::Current(b) => b.conduit_sink_sink().call_close(store),
            Bindings::V0_1(b) => b.call_close(store),
        }
    }
}

impl SinkPre {
    /// Links the component against the capabilities a sink may have and prepares instantiation.
    /// Fails when the component imports something the runtime does not provide, or exports no
    /// sink interface of a contract version this runtime hosts ([`Contract::HOSTED`]).
    pub fn new(engine: &SandboxEngine, component: &Component) -> anyhow::Result<SinkPre> {
        let mut linker = Linker::<StoreState>::new(engine.engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        // Always linked: a sink importing wasi:http must instantiate without a grant too; its
        // requests are then refused one by one (see `http`). Costs nothing per call.
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
        let pre = linker.instantiate_pre(component).map_err(|e| {
            anyhow::anyhow!(
                "the sink imports something this runtime does not provide: {e}; sinks may import \
                 only WASI interfaces"
            )
        })?;
        let pre = match Contract::of(component) {
            Some(Contract::V0_2) => Pre::Current(SinkComponentPre::new(pre)?),
            Some(Contract::V0_1) => Pre::V0_1(SinkV01Pre::new(pre)?),
            None => anyhow::bail!(
                "the component exports no sink interface this runtime hosts (contract {})",
                Contract::hosted_list()
            ),
        };
        Ok(SinkPre {
            engine: engine.clone(),
            pre,
        })
    }

    /// A tenant's instance of the component, with its own limits, capabilities and config. Not
    /// instantiated yet: that happens at `connect`, on the sink's worker thread.
    pub fn instance(
        &self,
        limits: SinkLimits,
        capabilities: Capabilities,
        config: Vec<(String, String)>,
    ) -> SinkInstance {
        SinkInstance {
            engine: self.engine.clone(),
            pre: self.pre.clone(),
            limits,
            capabilities,
            config,
            live: None,
        }
    }
}

impl SinkInstance {
    /// Links `component` and makes one instance of it ([`SinkPre::new`], then
    /// [`SinkPre::instance`]).
    pub fn new(
        engine: &SandboxEngine,
        component: &Component,
        limits: SinkLimits,
        capabilities: Capabilities,
        config: Vec<(String, String)>,
    ) -> anyhow::Result<SinkInstance> {
        Ok(SinkPre::new(engine, component)?.instance(limits, capabilities, config))
    }

    /// The contract version the component was built against.
    pub fn contract(&self) -> Contract {
        match self.pre {
            Pre::Current(_) => Contract::CURRENT,
            Pre::V0_1(_) => Contract::V0_1,
        }
    }

    /// Instantiates the sink afresh and calls `connect` with its configuration.
    pub fn connect(&mut self) -> Result<(), CallError> {
        let mut live = self.instantiate()?;
        let config = &self.config;
        let result = live.call(&self.limits, |b, s| b.connect(s, config));
        result?;
        self.live = Some(live);
        Ok(())
    }

    /// Calls `publish`, connecting first if the instance was dropped after a trap.
    pub fn publish(&mut self, batch: &Batch) -> Result<(), CallError> {
        if self.live.is_none() {
            self.connect()?;
        }
        let Some(live) = self.live.as_mut() else {
            return Err(CallError::Trap("the sink instance is gone".into()));
        };
        let result = live.call(&self.limits, |b, s| b.publish(s, batch));
        if let Err(CallError::Trap(_)) = result {
            // A trapped instance cannot be entered again.
            self.live = None;
        }
        result
    }

    /// Calls `close` on a live instance and drops it.
    pub fn close(&mut self) -> Result<(), CallError> {
        match self.live.take() {
            Some(mut live) => live.call(&self.limits, |b, s| b.close(s)),
            None => Ok(()),
        }
    }

    fn instantiate(&mut self) -> Result<Live, CallError> {
        self.live = None;
        let (wasi, logs) = self.capabilities.wasi();
        let state = StoreState {
            wasi,
            table: Default::default(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            http: self.capabilities.http(self.limits.call_deadline),
        };
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_deadline));
        let bindings = match &self.pre {
            Pre::Current(pre) => pre.instantiate(&mut store).map(Bindings::Current),
            Pre::V0_1(pre) => pre.instantiate(&mut store).map(Bindings::V0_1),
        }
        .map_err(|e| CallError::Trap(format!("instantiation failed: {e:#}")))?;
        Ok(Live {
            store,
            bindings,
            logs,
            file: self.capabilities.output.file().cloned(),
            inherit: matches!(self.capabilities.output, Output::Inherit),
        })
    }
}

impl Live {
    /// One guest call under the deadline; the sink's log budget is renewed afterwards, and its
    /// delivered output (a stdout file, or the process's stdout) is written out before an `Ok`
    /// is returned: the worker reports an accepted call to the pipeline, which may then
    /// acknowledge its position to PostgreSQL.
    fn call(
        &mut self,
        limits: &SinkLimits,
        f: impl FnOnce(&Bindings, &mut Store<StoreState>) -> Call,
    ) -> Result<(), CallError> {
        self.store
            .set_epoch_deadline(SandboxEngine::ticks(limits.call_deadline));
        for log in &self.logs {
            // Forget output of earlier calls: only this call's can explain its trap.
            log.last_words();
        }
        if let Some(file) = &self.file {
            file.begin_call();
        }
        let mut result = f(&self.bindings, &mut self.store);
        for log in &self.logs {
            log.end_call();
        }
        let accepted = matches!(result, Ok(Ok(())));
        let delivered = match (&self.file, self.inherit) {
            (Some(file), _) => file.end_call(accepted),
            // A partial last line would otherwise wait in std's line buffer.
            (None, true) => std::io::Write::flush(&mut std::io::stdout())
                .map_err(|e| format!("the sink's output could not be written to stdout: {e}")),
            (None, false) => Ok(()),
        };
        if let (true, Err(message)) = (accepted, delivered) {
            result = Ok(Err(SinkError {
                retryable: true,
                message,
            }));
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallError::Sink(e)),
            Err(trap) => {
                let mut reason = describe_trap(&trap, limits);
                // A Rust guest's panic message is on its stderr just before the trap.
                if let Some(words) = self.logs.iter().rev().find_map(GuestLog::last_words) {
                    reason.push_str(&format!("; {words}"));
                }
                Err(CallError::Trap(reason))
            }
        }
    }
}

/// Names the limit a trap came from, so an operator knows which knob to turn. One line: the
/// wasm backtrace that wasmtime attaches is left out.
fn describe_trap(trap: &wasmtime::Error, limits: &SinkLimits) -> String {
    match trap.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => format!(
            "exceeded its CPU deadline of {:?} per call",
            limits.call_deadline
        ),
        Some(wasmtime::Trap::StackOverflow) => "overflowed its call stack".to_string(),
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            "panicked (wasm `unreachable` executed)".to_string()
        }
        Some(other) => format!("trapped: {other}"),
        None => {
            let root = trap.root_cause().to_string();
            let root = root.lines().next().unwrap_or("").to_string();
            if root.contains("memory") || root.contains("limit") {
                format!("{root} (memory cap {} MiB)", limits.memory_bytes >> 20)
            } else {
                root
            }
        }
    }
}
