//! The example sinks written in other languages: `sinks-other/<lang>/<sink>/` →
//! `target/sinks/<sink>-<lang>.wasm`.
//!
//! The pinned tools are installed by `sinks-other/install-tools.sh` (skipped when present) into
//! `target/tools`, and each sink is built by `sinks-other/build.sh <lang> <dir> <out>`; a sink whose
//! component is newer than its sources, the WIT and the build scripts is not rebuilt.
//! `CONDUIT_SKIP_OTHER_SINKS=1` skips all of this (the conformance tests then skip too, saying so).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use super::{run, Result, Workspace};

/// Languages built by default, and the file that marks a sink directory of that language. Go is
/// built too: it works on small batches and traps on large ones (see sinks-other/README.md), and
/// the conformance suite checks that the trap is reported clearly.
pub const LANGS: &[(&str, &str)] = &[
    ("c", "sink.c"),
    ("python", "app.py"),
    ("js", "app.js"),
    ("go", "sink.go"),
];

pub const SKIP_ENV: &str = "CONDUIT_SKIP_OTHER_SINKS";

/// A sink directory and the component it becomes.
struct OtherSink {
    lang: &'static str,
    dir: PathBuf,
    out: PathBuf,
}

impl Workspace {
    fn other_dir(&self) -> PathBuf {
        self.root.join("sinks-other")
    }

    pub(crate) fn tools_dir(&self) -> PathBuf {
        std::env::var_os("CONDUIT_TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.target_dir.join("tools"))
    }

    fn other_sinks(&self) -> Result<Vec<OtherSink>> {
        let mut sinks = Vec::new();
        for (lang, marker) in LANGS {
            let lang_dir = self.other_dir().join(lang);
            let Ok(entries) = fs::read_dir(&lang_dir) else {
                continue;
            };
            let mut dirs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(marker).is_file())
                .collect();
            dirs.sort();
            for dir in dirs {
                let name = dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| format!("{}: not a UTF-8 name", dir.display()))?
                    .to_string();
                sinks.push(OtherSink {
                    lang,
                    out: self.sinks_out_dir().join(format!("{name}-{lang}.wasm")),
                    dir,
                });
            }
        }
        Ok(sinks)
    }

    /// Installs the tools and builds every sink under `sinks-other/`; returns the components.
    pub(crate) fn build_other_sinks(&self) -> Result<Vec<PathBuf>> {
        if std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!(
                "xtask: {SKIP_ENV} is set: not building the C, Python, JavaScript and Go sinks"
            );
            return Ok(Vec::new());
        }
        let sinks = self.other_sinks()?;
        if sinks.is_empty() {
            return Ok(Vec::new());
        }
        let tools = self.tools_dir();
        let mut install = Command::new("bash");
        install
            .arg(self.other_dir().join("install-tools.sh"))
            .arg("--go")
            .env("CONDUIT_TOOLS_DIR", &tools)
            .current_dir(&self.root);
        run(&mut install).map_err(|e| {
            format!(
                "{e}: the C, Python, JavaScript and Go sinks need python3, node/npm and the \
                 registries (PyPI, npm, crates.io); set {SKIP_ENV}=1 to build only the Rust sinks"
            )
        })?;

        let common = [
            self.root.join("wit/sink.wit"),
            self.other_dir().join("build.sh"),
            self.other_dir().join("js/build.mjs"),
            self.other_dir().join("go/build-go.sh"),
            self.other_dir().join("install-tools.sh"),
        ];
        let started = Instant::now();
        let mut outputs = Vec::new();
        let mut built = 0;
        for sink in &sinks {
            let inputs = newest_mtime(&sink.dir)
                .into_iter()
                .chain(common.iter().filter_map(|p| mtime(p)))
                .max();
            let fresh = match (mtime(&sink.out), inputs) {
                (Some(out), Some(inp)) => out > inp,
                _ => false,
            };
            if !fresh {
                let mut cmd = Command::new("bash");
                cmd.arg(self.other_dir().join("build.sh"))
                    .arg(sink.lang)
                    .arg(&sink.dir)
                    .arg(&sink.out)
                    .env("CONDUIT_TOOLS_DIR", &tools)
                    .env(
                        "CONDUIT_SINKS_BUILD_DIR",
                        self.target_dir.join("sinks-build"),
                    )
                    .current_dir(&self.root);
                run(&mut cmd)?;
                built += 1;
            }
            let size = fs::metadata(&sink.out).map(|m| m.len()).unwrap_or(0);
            println!(
                "{}  {} bytes ({:.1} KiB){}",
                sink.out.display(),
                size,
                size as f64 / 1024.0,
                if fresh { ", up to date" } else { "" }
            );
            outputs.push(sink.out.clone());
        }
        println!(
            "built {built} of {} other-language sink component(s) in {:.1}s",
            outputs.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(outputs)
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files under `dir` (recursively; `__pycache__` ignored).
fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    let Ok(entries) = fs::read_dir(dir) else {
        return mtime(dir);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            newest_mtime(&path)
        } else {
            mtime(&path)
        };
        newest = newest.max(t);
    }
    newest
}
