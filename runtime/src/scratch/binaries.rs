//! Finding the PostgreSQL server programs (`initdb`, `postgres`, `pg_ctl`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{ScratchError, BINDIR_ENV};

/// Where the server programs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    pub bin_dir: PathBuf,
}

impl PgBinaries {
    pub fn initdb(&self) -> PathBuf {
        self.bin_dir.join("initdb")
    }
    pub fn postgres(&self) -> PathBuf {
        self.bin_dir.join("postgres")
    }
    pub fn pg_ctl(&self) -> PathBuf {
        self.bin_dir.join("pg_ctl")
    }

    /// Finds `initdb` and `postgres`: in `$CONDUIT_PG_BINDIR`, else next to the first `initdb` on
    /// `PATH` (symlinks resolved), else in the highest-versioned `/usr/lib/postgresql/*/bin`, else
    /// `/usr/local/pgsql/bin`.
    pub fn find() -> Result<PgBinaries, ScratchError> {
        let explicit = std::env::var_os(BINDIR_ENV).map(PathBuf::from);
        let path = std::env::var_os("PATH").unwrap_or_default();
        find_binaries(
            explicit.as_deref(),
            &path,
            &[
                Path::new("/usr/lib/postgresql"),
                Path::new("/usr/local/pgsql/bin"),
            ],
        )
    }
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn complete_bin_dir(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// The search behind [`PgBinaries::find`], with its inputs explicit. A root ending in `bin` is a
/// bin directory; any other root holds versioned installs (`<root>/<version>/bin`).
pub(super) fn find_binaries(
    explicit: Option<&Path>,
    path_var: &std::ffi::OsStr,
    roots: &[&Path],
) -> Result<PgBinaries, ScratchError> {
    if let Some(dir) = explicit {
        if complete_bin_dir(dir) {
            return Ok(PgBinaries {
                bin_dir: dir.to_path_buf(),
            });
        }
    }
    for dir in std::env::split_paths(path_var) {
        let initdb = dir.join("initdb");
        if !is_executable(&initdb) {
            continue;
        }
        let real = fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(parent) = real.parent() {
            if complete_bin_dir(parent) {
                return Ok(PgBinaries {
                    bin_dir: parent.to_path_buf(),
                });
            }
        }
        if complete_bin_dir(&dir) {
            return Ok(PgBinaries { bin_dir: dir });
        }
    }
    for root in roots {
        if root.file_name().is_some_and(|n| n == "bin") {
            if complete_bin_dir(root) {
                return Ok(PgBinaries {
                    bin_dir: root.to_path_buf(),
                });
            }
            continue;
        }
        let Ok(entries) = fs::read_dir(root) else {
            continue;
        };
        let mut versions: Vec<(Vec<u64>, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let key: Vec<u64> = name
                    .split('.')
                    .map(|p| p.parse::<u64>().ok())
                    .collect::<Option<_>>()?;
                Some((key, e.path().join("bin")))
            })
            .filter(|(_, bin)| complete_bin_dir(bin))
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Ok(PgBinaries { bin_dir: bin });
        }
    }
    Err(ScratchError::BinariesNotFound)
}
