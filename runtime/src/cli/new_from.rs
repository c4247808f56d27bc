//! `conduit-wasm new <name> --lang rust --from nats|kafka`: the Rust project of `new_sink.rs`,
//! with the sources of an example broker sink (`example-sinks/nats-jetstream`,
//! `example-sinks/kafka`) instead of the template's `src/lib.rs`, their README, and their
//! dependencies beyond the SDK added to `Cargo.toml`. The sources are compiled into the binary.

use std::path::Path;

use clap::ValueEnum;

use crate::error::SetupError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Example {
    /// NATS JetStream (example-sinks/nats-jetstream).
    Nats,
    /// Kafka (example-sinks/kafka).
    Kafka,
}

const NATS: &[(&str, &str)] = &[
    (
        "src/lib.rs",
        include_str!("../../../example-sinks/nats-jetstream/src/lib.rs"),
    ),
    (
        "src/proto.rs",
        include_str!("../../../example-sinks/nats-jetstream/src/proto.rs"),
    ),
    (
        "src/settings.rs",
        include_str!("../../../example-sinks/nats-jetstream/src/settings.rs"),
    ),
    (
        "src/tests.rs",
        include_str!("../../../example-sinks/nats-jetstream/src/tests.rs"),
    ),
    (
        "README.md",
        include_str!("../../../example-sinks/nats-jetstream/README.md"),
    ),
];

const KAFKA: &[(&str, &str)] = &[
    (
        "src/lib.rs",
        include_str!("../../../example-sinks/kafka/src/lib.rs"),
    ),
    (
        "src/records.rs",
        include_str!("../../../example-sinks/kafka/src/records.rs"),
    ),
    (
        "src/settings.rs",
        include_str!("../../../example-sinks/kafka/src/settings.rs"),
    ),
    (
        "src/wire.rs",
        include_str!("../../../example-sinks/kafka/src/wire.rs"),
    ),
    (
        "src/tests.rs",
        include_str!("../../../example-sinks/kafka/src/tests.rs"),
    ),
    (
        "README.md",
        include_str!("../../../example-sinks/kafka/README.md"),
    ),
];

const KAFKA_MANIFEST: &str = include_str!("../../../example-sinks/kafka/Cargo.toml");

impl Example {
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Example::Nats => NATS,
            Example::Kafka => KAFKA,
        }
    }

    /// The example's `[dependencies]` lines other than the SDK's.
    fn dependencies(self) -> Vec<&'static str> {
        match self {
            Example::Nats => Vec::new(),
            Example::Kafka => KAFKA_MANIFEST
                .split("[dependencies]")
                .nth(1)
                .unwrap_or("")
                .lines()
                .filter(|l| {
                    let l = l.trim();
                    !l.is_empty() && !l.starts_with('#') && !l.starts_with("conduit-sink-sdk")
                })
                .collect(),
        }
    }
}

/// Writes `example`'s sources over the Rust project in `dir` (made by `new_sink::create`) and
/// adds its dependencies; returns the files written.
pub fn apply(example: Example, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    for (path, text) in example.files() {
        let target = dir.join(path);
        std::fs::write(&target, text)
            .map_err(|e| SetupError::new(format!("cannot write {}: {e}", target.display())))?;
        written.push(path.to_string());
    }
    let deps = example.dependencies();
    if !deps.is_empty() {
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| SetupError::new(format!("cannot read {}: {e}", manifest.display())))?;
        let sdk = "conduit-sink-sdk = { path = \"guest-sdk\" }\n";
        let text = text.replacen(sdk, &format!("{sdk}{}\n", deps.join("\n")), 1);
        std::fs::write(&manifest, text)
            .map_err(|e| SetupError::new(format!("cannot write {}: {e}", manifest.display())))?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::new_sink::{create, Lang};

    /// A file added to an example sink must be added here, or `--from` would not build.
    #[test]
    fn every_source_of_the_examples_is_copied() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for (example, dir) in [
            (Example::Nats, "example-sinks/nats-jetstream"),
            (Example::Kafka, "example-sinks/kafka"),
        ] {
            let mut found: Vec<String> = std::fs::read_dir(root.join(dir).join("src"))
                .unwrap()
                .map(|e| format!("src/{}", e.unwrap().file_name().to_str().unwrap()))
                .collect();
            found.push("README.md".into());
            found.sort();
            let mut copied: Vec<String> =
                example.files().iter().map(|(p, _)| p.to_string()).collect();
            copied.sort();
            assert_eq!(copied, found, "{dir}");
        }
    }

    #[test]
    fn the_project_gets_the_sources_and_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        create("orders-to-kafka", Lang::Rust, dir.path()).unwrap();
        let files = apply(Example::Kafka, dir.path()).unwrap();
        assert!(files.contains(&"src/wire.rs".to_string()));
        let cargo = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"orders-to-kafka\""), "{cargo}");
        assert!(cargo.contains("kafka-protocol = {"), "{cargo}");
        assert!(cargo.contains("\nbytes = "), "{cargo}");
        let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap();
        assert!(lib.contains("export_sink!(Kafka)"));

        let dir = tempfile::tempdir().unwrap();
        create("orders-to-nats", Lang::Rust, dir.path()).unwrap();
        apply(Example::Nats, dir.path()).unwrap();
        assert!(dir.path().join("src/proto.rs").is_file());
    }
}
