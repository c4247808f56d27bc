//! `conduit-wasm check`.

use std::path::Path;

use crate::sandbox::{inspect_file, Contract, SandboxEngine};

pub fn check(path: &Path) -> anyhow::Result<()> {
    let engine = SandboxEngine::new(None)?;
    let (_component, description) = inspect_file(&engine, path)?;
    println!(
        "{}: a sink component this runtime can run ({} bytes)",
        path.display(),
        description.size
    );
    println!(
        "contract: {}{}",
        description.contract,
        contract_note(description.contract)
    );
    println!("exports:");
    for name in &description.exports {
        println!("  {name}");
    }
    println!("imports:");
    if description.imports.is_empty() {
        println!("  (none)");
    }
    for name in &description.imports {
        println!("  {name}");
    }
    Ok(())
}

/// What an operator should know about a sink built against an older contract.
fn contract_note(contract: Contract) -> String {
    if contract == Contract::CURRENT {
        " (current)".to_string()
    } else {
        format!(
            " (older than the current {}: snapshot reads arrive as inserts; rebuild against \
             wit/sink.wit to tell them apart)",
            Contract::CURRENT.version()
        )
    }
}
