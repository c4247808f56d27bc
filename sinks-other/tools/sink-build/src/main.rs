//! `conduit-sink-build`: the two component-model steps the C (and Go) sinks need, in one small
//! binary so that CI installs one thing instead of `wit-bindgen-cli` and `wasm-tools`:
//!
//! - `c-bindings <wit-dir> <out-dir> [--world W]`: what `wit-bindgen c <wit-dir> --out-dir <out-dir>`
//!   (wit-bindgen-cli 0.63) writes: `<world>.h`, `<world>.c` and `<world>_component_type.o`. It is
//!   the same generator (the `wit-bindgen-c` 0.63 library) with the CLI's default options.
//! - `component-new <core.wasm> <out.wasm> [--adapter reactor|command|none]`: what
//!   `wasm-tools component new <core.wasm> --adapt wasi_snapshot_preview1=<reactor adapter> -o
//!   <out.wasm>` does, with the WASI preview1 reactor adapter of wasmtime 48.0.8 (the crate
//!   `wasi-preview1-component-adapter-provider`), so the component's WASI imports match the host.
//! - `go-bindings <wit-dir> <out-dir> [--world W]`: what `wit-bindgen go` (0.63) writes.
//! - `embed <core.wasm> <wit-dir> <out.wasm> [--world W]`: what `wasm-tools component embed`
//!   does: adds the world's type information to a core module (for Go, whose toolchain cannot).
//! - `adapter <out.wasm> [reactor|command]`: writes the adapter itself (for other tools).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider as adapter;

const USAGE: &str = "usage:
  conduit-sink-build c-bindings <wit-dir> <out-dir> [--world NAME]
  conduit-sink-build component-new <core.wasm> <out.wasm> [--adapter reactor|command|none]
  conduit-sink-build go-bindings <wit-dir> <out-dir> [--world NAME]
  conduit-sink-build embed <core.wasm> <wit-dir> <out.wasm> [--world NAME]
  conduit-sink-build adapter <out.wasm> [reactor|command]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("conduit-sink-build: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("c-bindings") => {
            let (pos, world) = take_option(&args[1..], "--world")?;
            let [wit, out] = pos.as_slice() else {
                bail!("c-bindings takes <wit-dir> <out-dir>\n{USAGE}")
            };
            c_bindings(Path::new(wit), Path::new(out), world.as_deref())
        }
        Some("go-bindings") => {
            let (pos, world) = take_option(&args[1..], "--world")?;
            let [wit, out] = pos.as_slice() else {
                bail!("go-bindings takes <wit-dir> <out-dir>\n{USAGE}")
            };
            go_bindings(Path::new(wit), Path::new(out), world.as_deref())
        }
        Some("embed") => {
            let (pos, world) = take_option(&args[1..], "--world")?;
            let [input, wit, out] = pos.as_slice() else {
                bail!("embed takes <core.wasm> <wit-dir> <out.wasm>\n{USAGE}")
            };
            embed(
                Path::new(input),
                Path::new(wit),
                Path::new(out),
                world.as_deref(),
            )
        }
        Some("component-new") => {
            let (pos, which) = take_option(&args[1..], "--adapter")?;
            let [input, out] = pos.as_slice() else {
                bail!("component-new takes <core.wasm> <out.wasm>\n{USAGE}")
            };
            component_new(
                Path::new(input),
                Path::new(out),
                which.as_deref().unwrap_or("reactor"),
            )
        }
        Some("adapter") => {
            let out = args.get(1).context(USAGE)?;
            let bytes = adapter_bytes(args.get(2).map(String::as_str).unwrap_or("reactor"))?
                .context("`none` is not an adapter")?;
            std::fs::write(out, bytes).with_context(|| format!("writing {out}"))
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// Splits `--name VALUE` out of `args`.
fn take_option(args: &[String], name: &str) -> Result<(Vec<String>, Option<String>)> {
    let mut positional = Vec::new();
    let mut value = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == name {
            value = Some(
                it.next()
                    .with_context(|| format!("{name} needs a value"))?
                    .clone(),
            );
        } else if let Some(v) = a.strip_prefix(&format!("{name}=")) {
            value = Some(v.to_string());
        } else {
            positional.push(a.clone());
        }
    }
    Ok((positional, value))
}

fn c_bindings(wit: &Path, out: &Path, world: Option<&str>) -> Result<()> {
    let (mut resolve, world) = load_world(wit, world)?;
    let mut files = wit_bindgen_core::Files::default();
    let mut generator = wit_bindgen_c::Opts::default().build();
    generator.generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_files(&files, out)
}

fn go_bindings(wit: &Path, out: &Path, world: Option<&str>) -> Result<()> {
    let (mut resolve, world) = load_world(wit, world)?;
    let mut files = wit_bindgen_core::Files::default();
    let mut opts = wit_bindgen_go::Opts::default();
    opts.format = wit_bindgen_go::Format::False;
    opts.build().generate(&mut resolve, world, &mut files)?;
    write_files(&files, out)
}

/// Parses the WIT package at `wit` and picks `world` in it (the only one when `None`).
fn load_world(
    wit: &Path,
    world: Option<&str>,
) -> Result<(wit_parser::Resolve, wit_parser::WorldId)> {
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve
        .push_path(wit)
        .with_context(|| format!("parsing {}", wit.display()))?;
    let world = resolve.select_world(&[pkg], world)?;
    Ok((resolve, world))
}

/// Writes generated bindings below `out`, creating the folders they name.
fn write_files(files: &wit_bindgen_core::Files, out: &Path) -> Result<()> {
    for (name, contents) in files.iter() {
        let path: PathBuf = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("Generating {:?}", path);
    }
    Ok(())
}

fn embed(input: &Path, wit: &Path, out: &Path, world: Option<&str>) -> Result<()> {
    let (resolve, world) = load_world(wit, world)?;
    let mut module =
        std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )?;
    std::fs::write(out, module).with_context(|| format!("writing {}", out.display()))
}

fn adapter_bytes(which: &str) -> Result<Option<&'static [u8]>> {
    Ok(match which {
        "reactor" => Some(adapter::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER),
        "command" => Some(adapter::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER),
        "none" => None,
        other => bail!("unknown adapter {other:?}: reactor, command or none"),
    })
}

fn component_new(input: &Path, out: &Path, which: &str) -> Result<()> {
    let module = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder
        .validate(true)
        .module(&module)
        .with_context(|| format!("{} has no component type information", input.display()))?;
    if let Some(bytes) = adapter_bytes(which)? {
        encoder.adapter(adapter::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, bytes)?;
    }
    let component = encoder
        .encode()
        .with_context(|| format!("making a component of {}", input.display()))?;
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))
}
