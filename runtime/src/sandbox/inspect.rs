//! Is this file a sink we can run? Answered with a one-line reason when it is not.

use std::path::Path;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;

use super::bindings::SINK_INTERFACE;
use super::SandboxEngine;
use crate::error::SetupError;

/// What `conduit-wasm check` prints about a sink component.
#[derive(Debug, Clone)]
pub struct SinkDescription {
    pub size: usize,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Reads and compiles a sink component, checking that it exports the sink interface with the
/// functions the runtime calls. The errors name what is wrong and what to do about it.
pub fn inspect_file(
    engine: &SandboxEngine,
    path: &Path,
) -> Result<(Component, SinkDescription), SetupError> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SetupError::new(format!(
            "sink file {shown} not found: build it first (e.g. cargo xtask build-sinks) or fix the path"
        )),
        _ => SetupError::new(format!("cannot read sink file {shown}: {e}")),
    })?;
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => {}
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            return Err(SetupError::new(format!(
                "{shown} is a core WebAssembly module, not a component: build it for wasm32-wasip2 \
                 or wrap it with `wasm-tools component new`"
            )))
        }
        _ => {
            return Err(SetupError::new(format!(
            "{shown} is not a WebAssembly file (no \\0asm header): pass the .wasm sink component"
        )))
        }
    }
    let component = engine.compile(&bytes).map_err(|e| {
        SetupError::new(format!(
            "{shown} is not a valid WebAssembly component: {e:#}"
        ))
    })?;
    let ty = component.component_type();
    let eng = engine.engine();
    let exports: Vec<String> = ty.exports(eng).map(|(name, _)| name.to_string()).collect();
    let imports: Vec<String> = ty.imports(eng).map(|(name, _)| name.to_string()).collect();
    let Some(ComponentItem::ComponentInstance(sink)) =
        ty.get_export(eng, SINK_INTERFACE).map(|e| e.ty)
    else {
        return Err(SetupError::new(format!(
            "{shown} does not export the {SINK_INTERFACE} interface (it exports: {}); build it \
             against wit/sink.wit's sink-component world",
            if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            }
        )));
    };
    let missing: Vec<&str> = ["connect", "publish", "close"]
        .into_iter()
        .filter(|f| {
            !matches!(
                sink.get_export(eng, f).map(|e| e.ty),
                Some(ComponentItem::ComponentFunc(_))
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(SetupError::new(format!(
            "{shown} exports {SINK_INTERFACE} without {}: rebuild it against this runtime's wit/sink.wit",
            missing.join(", ")
        )));
    }
    Ok((
        component,
        SinkDescription {
            size: bytes.len(),
            imports,
            exports,
        },
    ))
}
