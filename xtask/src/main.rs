//! Project tasks: `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `build-sinks`: builds every package under `example-sinks/` and `test-sinks/` as a component
//!   with the `sink` profile and copies each to `target/sinks/<package>.wasm` (or
//!   `$CONDUIT_SINKS_OUT/<package>.wasm`). The ordinary route is rustup's wasm32-wasip2 target
//!   (installed with a bounded `rustup target add` when missing); when that fails, or with
//!   `CONDUIT_RUST_WASM_ROUTE=debian`, Debian's rustc-web builds wasm32-unknown-unknown modules
//!   that `wit-component` makes components (`debian_wasm.rs`).
//! - `demo [ARGS...]`: `build-sinks`, then `conduit-wasm run target/sinks/stdout-json.wasm
//!   [ARGS...]` — without `--source` that starts a scratch PostgreSQL with a changing demo table.
//! - `test [ARGS...]`: `build-sinks`, then `cargo build -p conduit-wasm`, then
//!   `cargo test --workspace [ARGS...]` with `CONDUIT_SINKS_DIR` and `CONDUIT_WASM_BIN` set; stops at
//!   the first failure.
//! - `install-check`: the README's `cargo install --path runtime --locked` into a scratch root,
//!   then the installed `conduit-wasm --version` and its size (`install.rs`).
//! - `bench [--quick] [--repeat N] ...`: conduit-wasm against `pg_recvlogical` on a scratch
//!   PostgreSQL, see `bench/` and BENCHMARKS.md.

mod bench;
mod child_env;
mod debian_wasm;
mod foreground;
mod install;
mod other_sinks;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use debian_wasm::{Route, ROUTE_ENV};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "sink";
/// Directories whose packages are sink components.
const SINK_DIRS: &[&str] = &["example-sinks", "test-sinks"];

type Result<T, E = String> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  build-sinks       build every package under example-sinks/ and test-sinks/ into
                    target/sinks/<package>.wasm, and every sinks-other/<lang>/<sink> (C, Python,
                    JavaScript; tools installed by sinks-other/install-tools.sh) into
                    target/sinks/<sink>-<lang>.wasm (CONDUIT_SKIP_OTHER_SINKS=1: Rust only;
                    CONDUIT_SINKS_OUT=<dir>: write there instead of target/sinks;
                    CONDUIT_RUST_WASM_ROUTE=auto|wasip2|debian: how the Rust sinks are built,
                    auto = wasm32-wasip2, else Debian's rustc-web)
  demo [ARGS...]    build-sinks, then `conduit-wasm run target/sinks/stdout-json.wasm [ARGS...]`
  test [ARGS...]    build-sinks, build the runtime, then `cargo test --workspace [ARGS...]`
  install-check     the README's `cargo install --path runtime --locked` into
                    target/install-check, then the installed `conduit-wasm --version` and its size
                    (a release build: minutes; not part of `test`)
  bench [--quick] [--repeat N] ...
                    conduit-wasm against pg_recvlogical on a scratch PostgreSQL (BENCHMARKS.md)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-sinks") if args.len() == 1 => Workspace::locate().and_then(|ws| {
            ws.build_sinks()?;
            ws.build_other_sinks()?;
            Ok(())
        }),
        Some("build-sinks") => Err(format!("build-sinks takes no arguments\n{USAGE}")),
        Some("test") => Workspace::locate().and_then(|ws| ws.test(&args[1..])),
        Some("demo") => Workspace::locate().and_then(|ws| ws.demo(&args[1..])),
        Some("install-check") if args.len() == 1 => {
            Workspace::locate().and_then(|ws| ws.install_check())
        }
        Some("bench") => Workspace::locate().and_then(|ws| bench::bench(&ws, &args[1..])),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    cargo: OsString,
}

/// A package under one of [`SINK_DIRS`].
struct SinkPackage {
    package: String,
    crate_name: String,
}

impl Workspace {
    fn locate() -> Result<Workspace> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask is not inside the workspace")?
            .to_path_buf();
        // `cargo run` tells us which cargo it is; use the same one.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut ws = Workspace {
            target_dir: root.join("target"),
            root,
            cargo,
        };
        if let Some(dir) = ws.metadata_target_dir() {
            ws.target_dir = dir;
        }
        Ok(ws)
    }

    fn cargo(&self) -> Command {
        let mut cmd = Command::new(&self.cargo);
        cmd.current_dir(&self.root);
        // As from a shell, so that this cargo and the README's reuse each other's builds.
        child_env::without_cargo_run_vars(&mut cmd);
        cmd
    }

    /// The target directory as cargo sees it (honours CARGO_TARGET_DIR and config files).
    fn metadata_target_dir(&self) -> Option<PathBuf> {
        let output = self
            .cargo()
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let json = String::from_utf8(output.stdout).ok()?;
        json_string_field(&json, "target_directory").map(PathBuf::from)
    }

    /// `target/sinks`, or `CONDUIT_SINKS_OUT` (to build somewhere else without replacing the
    /// components others are testing with).
    fn sinks_out_dir(&self) -> PathBuf {
        match std::env::var_os("CONDUIT_SINKS_OUT") {
            Some(dir) if !dir.is_empty() => self.root.join(dir),
            _ => self.target_dir.join("sinks"),
        }
    }

    /// The packages under [`SINK_DIRS`], by name.
    fn sink_packages(&self) -> Result<Vec<SinkPackage>> {
        let mut packages = Vec::new();
        for dir in SINK_DIRS {
            self.sink_packages_in(&self.root.join(dir), &mut packages)?;
        }
        if packages.is_empty() {
            return Err(format!("no packages found under {}", SINK_DIRS.join(", ")));
        }
        packages.sort_by(|a, b| a.package.cmp(&b.package));
        Ok(packages)
    }

    fn sink_packages_in(&self, dir: &Path, packages: &mut Vec<SinkPackage>) -> Result<()> {
        let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("reading {}: {e}", dir.display()))?
                .path();
            let manifest = path.join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let text = fs::read_to_string(&manifest)
                .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
            let toml: toml::Table = text
                .parse()
                .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
            let package = table_str(&toml, "package", "name")
                .ok_or_else(|| format!("{} has no [package] name", manifest.display()))?;
            let crate_name = table_str(&toml, "lib", "name").unwrap_or_else(|| package.clone());
            packages.push(SinkPackage {
                crate_name: crate_name.replace('-', "_"),
                package,
            });
        }
        Ok(())
    }

    /// Builds every example sink and copies the components to [`Self::sinks_out_dir`]; returns
    /// their paths.
    fn build_sinks(&self) -> Result<Vec<PathBuf>> {
        let packages = self.sink_packages()?;
        let route = self.choose_route()?;
        let out_dir = self.sinks_out_dir();
        fs::create_dir_all(&out_dir).map_err(|e| format!("creating {}: {e}", out_dir.display()))?;

        let started = Instant::now();
        let outputs = match route {
            Route::Wasip2 => self.build_sinks_wasip2(&packages, &out_dir)?,
            Route::Debian => self.build_sinks_debian(&packages, &out_dir)?,
        };
        let build_time = started.elapsed();
        for out in &outputs {
            let size = fs::metadata(out).map(|m| m.len()).unwrap_or(0);
            println!(
                "{}  {} bytes ({:.1} KiB)",
                out.display(),
                size,
                size as f64 / 1024.0
            );
        }
        println!(
            "built {} sink component(s) in {:.1}s ({route:?} route)",
            outputs.len(),
            build_time.as_secs_f64()
        );
        Ok(outputs)
    }

    /// wasm32-wasip2 unless `CONDUIT_RUST_WASM_ROUTE` says otherwise or the target cannot be had.
    fn choose_route(&self) -> Result<Route> {
        match Route::requested()? {
            Some(Route::Debian) => Ok(Route::Debian),
            Some(Route::Wasip2) => self
                .ensure_target()
                .map(|()| Route::Wasip2)
                .map_err(|e| format!("{e}, or unset {ROUTE_ENV} to use Debian's rustc-web")),
            None => match self.ensure_target() {
                Ok(()) => Ok(Route::Wasip2),
                Err(e) => {
                    eprintln!(
                        "xtask: {e}; falling back to Debian's rustc-web for {}",
                        debian_wasm::TARGET
                    );
                    Ok(Route::Debian)
                }
            },
        }
    }

    /// The ordinary route: rustup's wasm32-wasip2 links components directly.
    fn build_sinks_wasip2(&self, packages: &[SinkPackage], out_dir: &Path) -> Result<Vec<PathBuf>> {
        let mut cmd = self.cargo();
        cmd.args(["build", "--target", TARGET, "--profile", PROFILE]);
        for p in packages {
            cmd.args(["-p", &p.package]);
        }
        run(&mut cmd)?;

        let built_dir = self.target_dir.join(TARGET).join(PROFILE);
        let mut outputs = Vec::new();
        for p in packages {
            let built = built_dir.join(format!("{}.wasm", p.crate_name));
            let out = out_dir.join(format!("{}.wasm", p.package));
            fs::copy(&built, &out).map_err(|e| {
                format!(
                    "copying {} to {}: {e} (is `{}` a `crate-type = [\"cdylib\"]` package?)",
                    built.display(),
                    out.display(),
                    p.package
                )
            })?;
            outputs.push(out);
        }
        Ok(outputs)
    }

    /// Makes sure rustup's wasm32-wasip2 target is installed, installing it if it is not.
    fn ensure_target(&self) -> Result<()> {
        let installed = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .current_dir(&self.root)
            .output();
        match installed {
            Ok(out) if out.status.success() => {
                let list = String::from_utf8_lossy(&out.stdout);
                if list.lines().any(|l| l.trim() == TARGET) {
                    return Ok(());
                }
            }
            Ok(out) => {
                return Err(format!(
                    "`rustup target list --installed` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "the {TARGET} target is needed and rustup is not available ({e}): install \
                     rustup and run `rustup target add {TARGET}`"
                ))
            }
        }

        eprintln!(
            "xtask: the {TARGET} target is not installed; running `rustup target add {TARGET}`"
        );
        let status = Command::new("timeout")
            .args(["120", "rustup", "target", "add", TARGET])
            .current_dir(&self.root)
            .status();
        match status {
            Ok(s) if s.success() => Ok(()),
            other => {
                let why = match other {
                    Ok(s) => format!("exited with {s}"),
                    Err(e) => e.to_string(),
                };
                Err(format!(
                    "the {TARGET} target is missing and `timeout 120 rustup target add {TARGET}` \
                     failed ({why}): install it with `rustup target add {TARGET}` when rustup's \
                     server is reachable"
                ))
            }
        }
    }

    fn demo(&self, extra: &[String]) -> Result<()> {
        ensure_postgres()?;
        self.build_sinks()?;
        let sink = self.sinks_out_dir().join("stdout-json.wasm");
        let mut run_cmd = self.cargo();
        run_cmd
            .args(["run", "--release", "-p", "conduit-wasm", "--", "run"])
            .arg(sink)
            .args(extra);
        eprintln!("xtask: running the demo (Ctrl-C stops it cleanly)");
        // Ctrl-C reaches conduit-wasm (it stops in order) and us: we wait for it and exit as it
        // does, 0 after a clean stop.
        let status = foreground::run_in_foreground(&mut run_cmd)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the demo run failed ({status})"))
        }
    }

    fn test(&self, extra: &[String]) -> Result<()> {
        ensure_postgres()?;
        self.build_sinks()?;
        self.build_other_sinks()?;
        let sinks_dir = self.sinks_out_dir();
        let bin = self.target_dir.join("debug").join("conduit-wasm");
        let tools = self.tools_dir();
        let env = |cmd: &mut Command| {
            cmd.env("CONDUIT_SINKS_DIR", &sinks_dir)
                .env("CONDUIT_WASM_BIN", &bin)
                .env("CONDUIT_TOOLS_DIR", &tools);
        };

        let mut build = self.cargo();
        build.args(["build", "-p", "conduit-wasm"]);
        env(&mut build);
        run(&mut build)?;

        let mut test = self.cargo();
        test.args(["test", "--workspace"]).args(extra);
        env(&mut test);
        println!(
            "xtask: CONDUIT_SINKS_DIR={} CONDUIT_WASM_BIN={}",
            sinks_dir.display(),
            bin.display()
        );
        run(&mut test)
    }
}

/// The tests and the demo start PostgreSQL clusters of their own from the server binaries. Install
/// them with apt-get when they are missing and we may (root on Debian); otherwise say how.
fn ensure_postgres() -> Result<()> {
    let found = fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.flatten().any(|d| d.path().join("bin/initdb").exists()))
        .unwrap_or(false)
        || Command::new("initdb")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if is_root && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("xtask: PostgreSQL server binaries not found; installing them with apt-get");
        run(Command::new("apt-get").arg("update").arg("-q"))?;
        return run(Command::new("apt-get")
            .args(["install", "-y", "-q", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"));
    }
    Err(
        "PostgreSQL server binaries (initdb, postgres) not found: install them \
         (sudo apt-get install postgresql) or put initdb on PATH"
            .to_string(),
    )
}

/// Runs `cmd` with inherited standard streams; an error unless it succeeds.
fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!(
        "{} {}",
        Path::new(cmd.get_program())
            .file_name()
            .unwrap_or(cmd.get_program())
            .to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    eprintln!("xtask: running `{shown}`");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// The string value of `key = "..."` in `[section]` of a Cargo.toml; `None` when the text is not
/// TOML or the value is absent or not a string.
#[cfg(test)]
fn toml_value(text: &str, section: &str, key: &str) -> Option<String> {
    table_str(&text.parse().ok()?, section, key)
}

/// The string value of `key` in `[section]` of a parsed TOML document.
fn table_str(toml: &toml::Table, section: &str, key: &str) -> Option<String> {
    toml.get(section)?.get(key)?.as_str().map(str::to_string)
}

/// The string value of the top-level `"field"` of a JSON object (`cargo metadata`'s
/// `target_directory`); `None` when the text is not JSON or the value is absent or not a string.
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(json).ok()?;
    json.get(field)?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_manifest_names() {
        let manifest = "[package]\nname = \"stdout-json\"\nversion.workspace = true\n\n\
                        [lib]\ncrate-type = [\"cdylib\"]\nname = \"sj\"\n\n\
                        [dependencies]\nname = \"nope\"\n";
        assert_eq!(
            toml_value(manifest, "package", "name").as_deref(),
            Some("stdout-json")
        );
        assert_eq!(toml_value(manifest, "lib", "name").as_deref(), Some("sj"));
        assert_eq!(toml_value(manifest, "lib", "path"), None);
        assert_eq!(toml_value("[lib]\ncrate-type = []\n", "lib", "name"), None);
    }

    #[test]
    fn reads_metadata_target_dir() {
        let json = r#"{"packages":[{"name":"x","target_directory":"no"}],"target_directory":"/w/t\\a\"b","version":1}"#;
        assert_eq!(
            json_string_field(json, "target_directory").as_deref(),
            Some("/w/t\\a\"b")
        );
        assert_eq!(json_string_field(json, "missing"), None);
    }

    #[test]
    fn finds_the_example_sinks() {
        let ws = Workspace {
            root: Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .into(),
            target_dir: PathBuf::from("target"),
            cargo: "cargo".into(),
        };
        let packages = ws.sink_packages().unwrap();
        let names: Vec<_> = packages
            .iter()
            .map(|p| (p.package.as_str(), p.crate_name.as_str()))
            .collect();
        assert!(names.contains(&("stdout-json", "stdout_json")), "{names:?}");
        assert!(
            names.contains(&("filter-reshape", "filter_reshape")),
            "{names:?}"
        );
        assert!(names.contains(&("hostile", "hostile")), "{names:?}");
    }
}
