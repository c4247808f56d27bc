//! `cargo xtask install-check`: runs the README's install command into a scratch `--root`, then
//! the installed `conduit-wasm --version`, and reports the binary's size and the time taken.
//!
//! Not part of `cargo xtask test` (so not of CI): the command builds the release profile, which
//! from a clean target directory compiles wasmtime and Cranelift optimised (20.5 minutes on two
//! shared cores, 2026-12-05). Run it by hand after changing the release profile, the runtime's dependencies or the
//! README's install line. It installs from the workspace's target directory (`cargo install
//! --path` uses it), so after `cargo build --release -p conduit-wasm` it only links and copies.

use std::fs;
use std::process::Command;
use std::time::Instant;

use crate::{run, Result, Workspace};

/// The README's install command, without `--root` (which the check adds). The README must show
/// exactly this (a unit test reads it).
pub const INSTALL_ARGS: &[&str] = &["install", "--path", "runtime", "--locked"];

/// The installed binary may not grow past this: the release profile is stripped and without debug
/// info (28 MB on 2026-12-05); with line tables it was 156 MB.
const MAX_BYTES: u64 = 64 << 20;

impl Workspace {
    pub(crate) fn install_check(&self) -> Result<()> {
        let root = self.target_dir.join("install-check");
        if root.exists() {
            fs::remove_dir_all(&root).map_err(|e| format!("removing {}: {e}", root.display()))?;
        }
        let started = Instant::now();
        let mut install = self.cargo();
        install.args(INSTALL_ARGS).arg("--root").arg(&root);
        run(&mut install)?;
        let took = started.elapsed();

        let bin = root.join("bin").join("conduit-wasm");
        let out = Command::new(&bin)
            .arg("--version")
            .output()
            .map_err(|e| format!("running {} --version: {e}", bin.display()))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || !version.starts_with("conduit-wasm ") {
            return Err(format!(
                "{} --version printed {version:?} ({}): expected `conduit-wasm <version>`",
                bin.display(),
                out.status
            ));
        }
        let size = fs::metadata(&bin)
            .map_err(|e| format!("{}: {e}", bin.display()))?
            .len();
        println!(
            "xtask: `cargo {} --root {}` took {:.0} s; {} is {version}, {size} bytes ({:.1} MB)",
            INSTALL_ARGS.join(" "),
            root.display(),
            took.as_secs_f64(),
            bin.display(),
            size as f64 / 1e6
        );
        if size > MAX_BYTES {
            return Err(format!(
                "the installed binary is {:.1} MB, more than {} MB: is the release profile \
                 (Cargo.toml) still stripped and without debug info?",
                size as f64 / 1e6,
                MAX_BYTES >> 20
            ));
        }
        fs::remove_dir_all(&root).map_err(|e| format!("removing {}: {e}", root.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_checked_install_command() {
        let readme = include_str!("../../README.md");
        let command = format!("cargo {}", INSTALL_ARGS.join(" "));
        assert!(
            readme.contains(&command),
            "README.md does not show `{command}`"
        );
    }
}
