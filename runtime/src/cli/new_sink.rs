//! `conduit-wasm new <name> --lang rust|c|python|js`: a sink project that builds and passes
//! `conduit-wasm test` out of the box.
//!
//! The templates live in the repository's `templates/<lang>/` and are compiled into the binary, with
//! `wit/sink.wit` (copied into the project, so it builds without this repository). A Rust project
//! also gets the SDK (`guest-sdk/` and the `timefmt/` crate it uses, as laid out in the repository,
//! so their `../wit` and `../timefmt` paths hold): the scaffold and the README's example use the
//! same `Sink` trait, and an installed `conduit-wasm` needs no clone to make a project that builds.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::new_from::{self, Example};
use crate::error::SetupError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    C,
    Python,
    Js,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The sink's name: lower-case letters, digits, `-` and `_`, starting with a letter.
    pub name: String,
    /// The language of the project.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Where to create it [default: ./<name>]. Must not exist, or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Start from an example broker sink's sources instead of the template (Rust only).
    #[arg(long, value_enum)]
    pub from: Option<Example>,
}

const WIT: &str = include_str!("../../../wit/sink.wit");

/// (path in the project, contents, executable)
type Template = &'static [(&'static str, &'static str, bool)];

const RUST: Template = &[
    (
        "Cargo.toml",
        include_str!("../../../templates/rust/Cargo.toml"),
        false,
    ),
    (
        "src/lib.rs",
        include_str!("../../../templates/rust/src/lib.rs"),
        false,
    ),
    (
        "build.sh",
        include_str!("../../../templates/rust/build.sh"),
        true,
    ),
    (
        "README.md",
        include_str!("../../../templates/rust/README.md"),
        false,
    ),
];

/// The Rust SDK, copied verbatim (no placeholders filled in: its sources contain `{{`). Its
/// `Cargo.toml`s inherit from the `[workspace]` of `templates/rust/Cargo.toml`.
const RUST_SDK: &[(&str, &str)] = &[
    (
        "guest-sdk/Cargo.toml",
        include_str!("../../../guest-sdk/Cargo.toml"),
    ),
    (
        "guest-sdk/README.md",
        include_str!("../../../guest-sdk/README.md"),
    ),
    (
        "guest-sdk/src/lib.rs",
        include_str!("../../../guest-sdk/src/lib.rs"),
    ),
    (
        "guest-sdk/src/format.rs",
        include_str!("../../../guest-sdk/src/format.rs"),
    ),
    (
        "guest-sdk/src/io.rs",
        include_str!("../../../guest-sdk/src/io.rs"),
    ),
    (
        "guest-sdk/src/json.rs",
        include_str!("../../../guest-sdk/src/json.rs"),
    ),
    (
        "guest-sdk/src/line.rs",
        include_str!("../../../guest-sdk/src/line.rs"),
    ),
    (
        "guest-sdk/src/net.rs",
        include_str!("../../../guest-sdk/src/net.rs"),
    ),
    (
        "guest-sdk/src/net/wasi.rs",
        include_str!("../../../guest-sdk/src/net/wasi.rs"),
    ),
    (
        "guest-sdk/src/view.rs",
        include_str!("../../../guest-sdk/src/view.rs"),
    ),
    (
        "timefmt/Cargo.toml",
        include_str!("../../../timefmt/Cargo.toml"),
    ),
    (
        "timefmt/src/lib.rs",
        include_str!("../../../timefmt/src/lib.rs"),
    ),
];

const C: Template = &[
    ("sink.c", include_str!("../../../templates/c/sink.c"), false),
    (
        "build.sh",
        include_str!("../../../templates/c/build.sh"),
        true,
    ),
    (
        "README.md",
        include_str!("../../../templates/c/README.md"),
        false,
    ),
];

const PYTHON: Template = &[
    (
        "app.py",
        include_str!("../../../templates/python/app.py"),
        false,
    ),
    (
        "build.sh",
        include_str!("../../../templates/python/build.sh"),
        true,
    ),
    (
        "README.md",
        include_str!("../../../templates/python/README.md"),
        false,
    ),
];

const JS: Template = &[
    (
        "app.js",
        include_str!("../../../templates/js/app.js"),
        false,
    ),
    (
        "build.mjs",
        include_str!("../../../templates/js/build.mjs"),
        false,
    ),
    (
        "build.sh",
        include_str!("../../../templates/js/build.sh"),
        true,
    ),
    (
        "README.md",
        include_str!("../../../templates/js/README.md"),
        false,
    ),
];

const GITIGNORE: &str = "/target/\n/build/\n/*.wasm\n__pycache__/\nnode_modules/\n";

impl Lang {
    fn files(self) -> Template {
        match self {
            Lang::Rust => RUST,
            Lang::C => C,
            Lang::Python => PYTHON,
            Lang::Js => JS,
        }
    }

    /// Files copied as they are.
    fn verbatim(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::Rust => RUST_SDK,
            Lang::C | Lang::Python | Lang::Js => &[],
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::C => "c",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }
}

fn check_name(name: &str) -> Result<(), SetupError> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SetupError::new(format!(
            "{name:?} is not a sink name: use lower-case letters, digits, '-' and '_', starting \
             with a letter (at most 64 characters), e.g. orders-to-kafka"
        )))
    }
}

/// Creates the project; returns the files written (relative to the project directory).
pub fn create(name: &str, lang: Lang, dir: &Path) -> anyhow::Result<Vec<String>> {
    check_name(name)?;
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(SetupError::new(format!(
                    "{} already exists and is not empty: choose another name or --dir",
                    dir.display()
                ))
                .into());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SetupError::new(format!("cannot use {}: {e}", dir.display())).into()),
    }
    let crate_name = name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
    };
    let mut written = Vec::new();
    let files = lang
        .files()
        .iter()
        .map(|(path, text, exec)| (*path, fill(text), *exec))
        .chain(
            lang.verbatim()
                .iter()
                .map(|(path, text)| (*path, text.to_string(), false)),
        )
        .chain([
            ("wit/sink.wit", WIT.to_string(), false),
            (".gitignore", GITIGNORE.to_string(), false),
        ]);
    for (path, text, exec) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| SetupError::new(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| SetupError::new(format!("cannot write {}: {e}", target.display())))?;
        if exec {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).map_err(
                    |e| SetupError::new(format!("cannot chmod {}: {e}", target.display())),
                )?;
            }
        }
        written.push(path.to_string());
    }
    Ok(written)
}

pub fn new(args: NewArgs) -> anyhow::Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if args.from.is_some() && args.lang != Lang::Rust {
        return Err(SetupError::new(
            "--from starts from a Rust example sink: use it with --lang rust",
        )
        .into());
    }
    let mut files = create(&args.name, args.lang, &dir)?;
    if let Some(example) = args.from {
        for f in new_from::apply(example, &dir)? {
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    println!(
        "created the {} sink {} in {}:",
        args.lang.as_str(),
        args.name,
        dir.display()
    );
    for f in &files {
        println!("  {f}");
    }
    let shown = dir.display();
    println!("next:");
    if args.lang != Lang::Rust {
        println!(
            "  # once: the pinned tools, into ~/.cache/conduit-wasm/tools (see {shown}/build.sh): \
             bash <conduit-wasm>/sinks-other/install-tools.sh"
        );
    } else {
        println!("  rustup target add wasm32-wasip2   # once");
    }
    println!("  {shown}/build.sh");
    println!(
        "  conduit-wasm test {shown}/{}.wasm   # built-in sample events; --events FILE for recorded ones",
        args.name
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("orders-to-kafka").is_ok());
        assert!(check_name("s3_sink2").is_ok());
        for bad in ["", "Orders", "2sink", "a b", "a/b", "../x", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    /// A file added to the SDK must be added to [`RUST_SDK`], or a new Rust project would not build.
    #[test]
    fn the_rust_project_gets_every_file_of_the_sdk() {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path.strip_prefix(root).unwrap();
                    out.push(rel.to_str().unwrap().to_string());
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut found = Vec::new();
        for crate_dir in ["guest-sdk", "timefmt"] {
            walk(root, &root.join(crate_dir), &mut found);
        }
        found.sort();
        let mut copied: Vec<String> = RUST_SDK.iter().map(|(p, _)| p.to_string()).collect();
        copied.sort();
        assert_eq!(copied, found);
    }

    #[test]
    fn every_template_is_filled_in() {
        for lang in [Lang::Rust, Lang::C, Lang::Python, Lang::Js] {
            let dir = tempfile::tempdir().unwrap();
            let project = dir.path().join("p");
            let files = create("my-sink", lang, &project).unwrap();
            assert!(files.contains(&"wit/sink.wit".to_string()));
            assert!(files.contains(&"build.sh".to_string()));
            for f in &files {
                let text = std::fs::read_to_string(project.join(f)).unwrap();
                assert!(
                    !text.contains("{{name}}") && !text.contains("{{crate_name}}"),
                    "{lang:?} {f} still has a placeholder"
                );
            }
            // Not over a non-empty directory.
            let err = create("my-sink", lang, &project).unwrap_err().to_string();
            assert!(err.contains("already exists and is not empty"), "{err}");
        }
        let dir = tempfile::tempdir().unwrap();
        create("my-sink", Lang::Rust, dir.path()).unwrap();
        let cargo = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"my-sink\""));
        let build = std::fs::read_to_string(dir.path().join("build.sh")).unwrap();
        assert!(build.contains("release/my_sink.wasm"));
    }
}
