//! Running the server programs as the `postgres` user when we are root (`initdb` and `postgres`
//! refuse to run as root).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use super::error::io_err;
use super::ScratchError;

/// The user the server programs run as, when we are root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RunAs {
    pub(super) uid: u32,
    pub(super) gid: u32,
}

pub(super) fn effective_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if let Some(rest) = line.strip_prefix("Uid:") {
                // real, effective, saved, filesystem
                return rest.split_whitespace().nth(1).and_then(|s| s.parse().ok());
            }
        }
    }
    let out = Command::new("id").arg("-u").output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

pub(super) fn lookup_user(name: &str) -> Option<RunAs> {
    if let Ok(passwd) = fs::read_to_string("/etc/passwd") {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 4 && f[0] == name {
                if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                    return Some(RunAs { uid, gid });
                }
            }
        }
    }
    // Users from NSS (LDAP, ...).
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(name).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some(RunAs {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

/// Writes a file only its owner can read, owned by `run_as` when given.
pub(super) fn write_private(
    path: &Path,
    contents: &[u8],
    run_as: Option<RunAs>,
) -> Result<(), ScratchError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(format!("creating {}", path.display())))?;
    f.write_all(contents)
        .map_err(io_err(format!("writing {}", path.display())))?;
    if let Some(ra) = run_as {
        std::os::unix::fs::chown(path, Some(ra.uid), Some(ra.gid))
            .map_err(io_err(format!("giving {} to postgres", path.display())))?;
    }
    Ok(())
}
