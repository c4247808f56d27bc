//! Is this file a sink we can run? Answered with a one-line reason when it is not.

use std::path::Path;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;

use super::contract::Contract;
use super::SandboxEngine;
use crate::error::SetupError;

/// What `conduit-wasm check` prints about a sink component.
#[derive(Debug, Clone)]
pub struct SinkDescription {
    pub size: usize,
    /// The contract version the component was built against (the newest one it exports, if it
    /// exports several).
    pub contract: Contract,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// A sink file read and checked without compiling it: what [`precheck_file`] returns.
pub struct SinkBytes {
    pub bytes: Vec<u8>,
}

/// Reads a sink file and checks, without compiling it, that it is a WebAssembly component that
/// exports the sink interface of a hosted contract version. Cheap (milliseconds even for an 18 MB
/// Python sink), so `run` does it before touching the database: a typo in a path fails without
/// creating a slot, while the compile itself, which can take seconds, comes after the slot exists
/// (a row written meanwhile then waits in the slot instead of being missed).
pub fn precheck_file(path: &Path) -> Result<SinkBytes, SetupError> {
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
    // Malformed bytes are left to the compiler, whose message says where they are.
    if let Ok(exports) = top_level_exports(&bytes) {
        let hosted = Contract::HOSTED
            .into_iter()
            .any(|c| exports.iter().any(|e| e == c.interface()));
        if !hosted {
            return Err(not_a_sink(&shown.to_string(), &exports));
        }
    }
    Ok(SinkBytes { bytes })
}

/// The names a component exports at its top level (not those of components nested in it).
fn top_level_exports(bytes: &[u8]) -> Result<Vec<String>, wasmparser::BinaryReaderError> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) if depth == 0 => break,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    names.push(export?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// Reads and compiles a sink component, checking that it exports the sink interface of a contract
/// version this runtime hosts ([`Contract::HOSTED`]) with the functions the runtime calls. The
/// errors name what is wrong and what to do about it.
pub fn inspect_file(
    engine: &SandboxEngine,
    path: &Path,
) -> Result<(Component, SinkDescription), SetupError> {
    let bytes = precheck_file(path)?.bytes;
    let shown = path.display();
    let component = engine.compile(&bytes, &shown.to_string()).map_err(|e| {
        SetupError::new(format!(
            "{shown} is not a valid WebAssembly component: {e:#}"
        ))
    })?;
    let ty = component.component_type();
    let eng = engine.engine();
    let exports: Vec<String> = ty.exports(eng).map(|(name, _)| name.to_string()).collect();
    let imports: Vec<String> = ty.imports(eng).map(|(name, _)| name.to_string()).collect();
    let found = Contract::HOSTED.into_iter().find_map(|c| {
        match ty.get_export(eng, c.interface()).map(|e| e.ty) {
            Some(ComponentItem::ComponentInstance(sink)) => Some((c, sink)),
            _ => None,
        }
    });
    let Some((contract, sink)) = found else {
        return Err(not_a_sink(&shown.to_string(), &exports));
    };
    let interface = contract.interface();
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
            "{shown} exports {interface} without {}: rebuild it against this runtime's wit/sink.wit",
            missing.join(", ")
        )));
    }
    Ok((
        component,
        SinkDescription {
            size: bytes.len(),
            contract,
            imports,
            exports,
        },
    ))
}

/// Why a component that exports no hosted sink interface cannot run, in one line: a sink of
/// another contract version is told which versions are hosted and how to rebuild.
fn not_a_sink(shown: &str, exports: &[String]) -> SetupError {
    let current = Contract::CURRENT.interface();
    if let Some(other) = exports
        .iter()
        .find(|e| e.starts_with(Contract::INTERFACE_PREFIX))
    {
        return SetupError::new(format!(
            "{shown} exports {other}, a sink contract version this runtime does not host (it \
             hosts {}): rebuild it against this runtime's wit/sink.wit ({current}), or run it \
             with the conduit-wasm release it was built for",
            Contract::hosted_list()
        ));
    }
    SetupError::new(format!(
        "{shown} does not export the {current} interface (it exports: {}); build it against \
         wit/sink.wit's sink-component world",
        if exports.is_empty() {
            "nothing".to_string()
        } else {
            exports.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_of_another_contract_version_is_told_how_to_rebuild() {
        let exports = vec!["conduit:sink/sink@0.9.0".to_string()];
        let message = not_a_sink("s.wasm", &exports).to_string();
        assert_eq!(
            message,
            "s.wasm exports conduit:sink/sink@0.9.0, a sink contract version this runtime does \
             not host (it hosts 0.2.0 and 0.1.0): rebuild it against this runtime's wit/sink.wit \
             (conduit:sink/sink@0.2.0), or run it with the conduit-wasm release it was built for"
        );
        assert!(!message.contains('\n'));
        let message = not_a_sink("s.wasm", &[]).to_string();
        assert!(
            message.starts_with("s.wasm does not export the conduit:sink/sink@0.2.0 interface"),
            "{message}"
        );
    }
}
