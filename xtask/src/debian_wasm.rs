//! The fallback route of `build-sinks` when rustup cannot install `wasm32-wasip2` (its server is
//! not one of the registries these machines reach; see /work/shared/toolchain.md, "Rust guests").
//!
//! Debian's `rustc-web` 1.96 ships no wasm standard library, but `rust-web-src` ships its source:
//! `/usr/bin/cargo -Zbuild-std` (allowed by `RUSTC_BOOTSTRAP=1`) builds std for
//! `wasm32-unknown-unknown`, linked with rustup's `rust-lld` (Debian's `rust-lld` needs lld, which
//! these packages do not pull in). That gives core modules, not components: `wit-component` (the
//! version wit-bindgen 0.63 embeds its component types for) turns each into a component in-process.
//! The sinks' own WASI use goes through explicit imports (the SDK's `io` and `net`), because std
//! on this target discards stdout/stderr and has no network.
//!
//! A different compiler means different artifacts: the build has a target directory of its own
//! (`target/debian-wasm`) so that it never invalidates the ordinary one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{run, Result, SinkPackage, Workspace, PROFILE};

/// `CONDUIT_RUST_WASM_ROUTE`: `auto` (default: wasip2 when rustup has or can get it, else this
/// fallback), `wasip2` (never fall back) or `debian` (always this route, to test it on a machine
/// that has the target).
pub const ROUTE_ENV: &str = "CONDUIT_RUST_WASM_ROUTE";
pub const TARGET: &str = "wasm32-unknown-unknown";
const RUSTC: &str = "/usr/bin/rustc";
const CARGO: &str = "/usr/bin/cargo";
/// Where `rust-web-src` puts the library source `-Zbuild-std` compiles.
const LIBRARY_SRC: &str = "/usr/lib/rustlib/src/rust/library/Cargo.toml";
const APT_INSTALL: &str = "apt-get install -y rustc-web cargo-web rust-web-src";

/// Which compiler builds the Rust sinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// rustup's toolchain for `wasm32-wasip2`; `wasm-component-ld` links components.
    Wasip2,
    /// Debian's `rustc-web` for `wasm32-unknown-unknown`, then `wit-component`.
    Debian,
}

impl Route {
    /// The route `CONDUIT_RUST_WASM_ROUTE` asks for; `None` for `auto`.
    pub fn requested() -> Result<Option<Route>> {
        match std::env::var(ROUTE_ENV).as_deref() {
            Err(_) | Ok("" | "auto") => Ok(None),
            Ok("wasip2" | "rustup") => Ok(Some(Route::Wasip2)),
            Ok("debian") => Ok(Some(Route::Debian)),
            Ok(other) => Err(format!(
                "{ROUTE_ENV}={other:?} is not a route: use auto, wasip2 or debian"
            )),
        }
    }
}

impl Workspace {
    fn debian_target_dir(&self) -> PathBuf {
        self.target_dir.join("debian-wasm")
    }

    /// Builds `packages` with Debian's compiler and writes each component to `out_dir`; returns
    /// the components' paths.
    pub(crate) fn build_sinks_debian(
        &self,
        packages: &[SinkPackage],
        out_dir: &Path,
    ) -> Result<Vec<PathBuf>> {
        check_debian_packages()?;
        let linker = rustup_lld(&self.root)?;
        let target_dir = self.debian_target_dir();
        let mut cmd = Command::new(CARGO);
        cmd.current_dir(&self.root)
            .env("RUSTC", RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", &linker)
            .env("CARGO_TARGET_DIR", &target_dir)
            // Set by rustup's proxies around `cargo xtask`; they mean nothing to Debian's cargo
            // and must not reach a `rustc` it might find on PATH.
            .env_remove("RUSTUP_TOOLCHAIN")
            .args(["build", "-Zbuild-std=std,panic_abort", "--target", TARGET])
            .args(["--profile", PROFILE]);
        for p in packages {
            cmd.args(["-p", &p.package]);
        }
        run(&mut cmd)?;

        let built_dir = target_dir.join(TARGET).join(PROFILE);
        let mut outputs = Vec::new();
        for p in packages {
            let core = built_dir.join(format!("{}.wasm", p.crate_name));
            let out = out_dir.join(format!("{}.wasm", p.package));
            componentize(&core, &out)?;
            outputs.push(out);
        }
        Ok(outputs)
    }
}

/// One-line error with the apt-get command when a Debian package is missing.
fn check_debian_packages() -> Result<()> {
    let version = Command::new(RUSTC)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let missing = match &version {
        None => Some(format!("{RUSTC} (rustc-web)")),
        Some(_) if !Path::new(CARGO).is_file() => Some(format!("{CARGO} (cargo-web)")),
        Some(_) if !Path::new(LIBRARY_SRC).is_file() => {
            Some("the std source (rust-web-src)".into())
        }
        Some(_) => None,
    };
    if let Some(missing) = missing {
        return Err(format!(
            "the {TARGET} fallback needs Debian's Rust but {missing} is missing: run \
             `sudo apt-get update && sudo {APT_INSTALL}`"
        ));
    }
    eprintln!(
        "xtask: building the Rust sinks with Debian's {} for {TARGET}",
        version.unwrap_or_default()
    );
    Ok(())
}

/// rustup's `rust-lld` (`<sysroot>/lib/rustlib/<host>/bin/rust-lld`) of the workspace toolchain.
fn rustup_lld(root: &Path) -> Result<PathBuf> {
    let rustc = Command::new("rustup")
        .args(["which", "rustc"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let sysroot = rustc.as_deref().and_then(|r| r.parent()?.parent());
    let found = sysroot.and_then(|sysroot| {
        let rustlib = sysroot.join("lib/rustlib");
        fs::read_dir(rustlib)
            .ok()?
            .flatten()
            .map(|host| host.path().join("bin/rust-lld"))
            .find(|lld| lld.is_file())
    });
    found.ok_or_else(|| {
        "the wasm32-unknown-unknown fallback links with rustup's rust-lld, and `rustup which \
         rustc` found no toolchain that has one: install Rust with rustup (its toolchains ship \
         rust-lld)"
            .to_string()
    })
}

/// Makes the core module at `core` a component at `out`.
fn componentize(core: &Path, out: &Path) -> Result<()> {
    let module = fs::read(core).map_err(|e| {
        format!(
            "reading {}: {e} (is it a `crate-type = [\"cdylib\"]` package?)",
            core.display()
        )
    })?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("making {} a component: {e:#}", core.display()))?;
    fs::write(out, component).map_err(|e| format!("writing {}: {e}", out.display()))
}
