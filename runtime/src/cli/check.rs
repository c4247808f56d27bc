//! `conduit-wasm check`.

use std::path::Path;

use crate::sandbox::{inspect_file, SandboxEngine};

pub fn check(path: &Path) -> anyhow::Result<()> {
    let engine = SandboxEngine::new(None)?;
    let (_component, description) = inspect_file(&engine, path)?;
    println!(
        "{}: a sink component this runtime can run ({} bytes)",
        path.display(),
        description.size
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
