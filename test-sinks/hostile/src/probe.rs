//! `open-file`: tries to read `/etc/passwd`, list `/` and read the environment, and reports what
//! happened. The runtime grants no preopened directory and no environment, so every attempt must
//! come back empty.
//!
//! On `wasm32-wasip2` this uses std (wasi-libc resolves paths against the preopens the host
//! granted). On `wasm32-unknown-unknown` std's `fs` and `env` are stubs that fail without asking
//! anyone, which would prove nothing about the host: there the same requests go to
//! `wasi:filesystem/preopens` and `wasi:cli/environment` through `wasip2`'s bindings.

use conduit_sink_sdk::{eprintln, println};

#[cfg(not(all(target_family = "wasm", target_os = "unknown")))]
mod imp {
    use std::io::{self, BufRead, BufReader};

    pub fn first_line(path: &str) -> io::Result<io::Result<String>> {
        let file = std::fs::File::open(path)?;
        let mut line = String::new();
        Ok(BufReader::new(file).read_line(&mut line).map(|_| line))
    }

    pub fn list(path: &str) -> io::Result<Vec<String>> {
        std::fs::read_dir(path)?
            .map(|entry| entry.map(|e| e.path().display().to_string()))
            .collect()
    }

    pub fn vars() -> Vec<(String, String)> {
        std::env::vars().collect()
    }
}

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
mod imp {
    use std::io::{self, BufRead, BufReader};
    use wasip2::filesystem::preopens::get_directories;
    use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

    /// Opens `path` relative to the preopened directory that contains it, as wasi-libc does; none
    /// contains it when the host granted none.
    fn open(path: &str, flags: OpenFlags) -> io::Result<Descriptor> {
        for (dir, prefix) in get_directories() {
            let rest = match path.strip_prefix(prefix.trim_end_matches('/')) {
                Some("") | Some("/") => ".",
                Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/'),
                _ => continue,
            };
            return dir
                .open_at(
                    PathFlags::SYMLINK_FOLLOW,
                    rest,
                    flags,
                    DescriptorFlags::READ,
                )
                .map_err(|e| io::Error::other(e.to_string()));
        }
        Err(io::Error::other(
            "Capabilities insufficient: no preopened directory contains it",
        ))
    }

    pub fn first_line(path: &str) -> io::Result<io::Result<String>> {
        let file = open(path, OpenFlags::empty())?;
        Ok(file
            .read_via_stream(0)
            .map_err(|e| io::Error::other(e.to_string()))
            .and_then(|stream| {
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line).map(|_| line)
            }))
    }

    pub fn list(path: &str) -> io::Result<Vec<String>> {
        let dir = open(path, OpenFlags::DIRECTORY)?;
        let entries = dir
            .read_directory()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut names = Vec::new();
        while let Some(entry) = entries
            .read_directory_entry()
            .map_err(|e| io::Error::other(e.to_string()))?
        {
            names.push(format!("{}/{}", path.trim_end_matches('/'), entry.name));
        }
        Ok(names)
    }

    pub fn vars() -> Vec<(String, String)> {
        wasip2::cli::environment::get_environment()
    }
}

pub fn probe_files_and_env() {
    match imp::first_line("/etc/passwd") {
        Ok(read) => {
            if let Ok(first) = &read {
                println!("{}", first.trim_end());
            }
            eprintln!(
                "hostile open-file: opened /etc/passwd ({read:?}): the host should have denied it"
            );
        }
        Err(e) => eprintln!("hostile open-file: opening /etc/passwd failed: {e}"),
    }
    match imp::list("/") {
        Ok(entries) => {
            for entry in entries {
                println!("{entry}");
            }
            eprintln!("hostile open-file: listed / : the host should have denied it");
        }
        Err(e) => eprintln!("hostile open-file: listing / failed: {e}"),
    }
    let vars = imp::vars();
    for (k, v) in &vars {
        println!("{k}={v}");
    }
    eprintln!(
        "hostile open-file: {} environment variables visible",
        vars.len()
    );
}
