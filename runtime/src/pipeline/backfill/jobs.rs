//! The backfills of a stream, on disk: `<state_dir>/backfill-<slot>.json`.
//!
//! A job's `after` moves only once every one of its tenants has *durably* accepted the rows up
//! to that key (their positions on disk are past the chunk's high watermark), so a killed run
//! resumes each backfill after the last chunk that is safe, and delivers at most the chunks in
//! flight again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// One table to read for some tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    /// The tenants the rows go to (each through its own grants).
    pub tenants: Vec<String>,
    /// `schema.table`.
    pub table: String,
    /// Only rows matching this SQL condition (`backfill --where`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Key (text forms) of the last row every tenant has durably accepted; `None`: none yet.
    #[serde(default)]
    pub after: Option<Vec<String>>,
    /// Rows delivered durably so far.
    #[serde(default)]
    pub rows: u64,
    /// Rows of the table, from the catalog's statistics (0 when never analysed).
    #[serde(default)]
    pub estimated_rows: u64,
    /// Why the job was made: `requested`, `new tenant`, `interrupted snapshot`.
    pub reason: String,
}

/// Everything the file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFile {
    pub next_id: u64,
    pub jobs: Vec<Job>,
    /// The published tables each tenant was granted when a run last started, so that a table
    /// granted since is backfilled for it (`backfill_new_tenants`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<BTreeMap<String, Vec<String>>>,
}

/// `<state_dir>/backfill-<slot>.json` (the slot's name made file-safe as for the status file).
pub fn path(state_dir: &Path, slot: &str) -> PathBuf {
    sibling(state_dir, slot, "backfill")
}

/// A per-slot file next to the status file: `<prefix>-<slot>.json`.
pub fn sibling(state_dir: &Path, slot: &str, prefix: &str) -> PathBuf {
    let status = super::super::status::status_path(state_dir, slot);
    let name = status
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("status-slot.json")
        .trim_start_matches("status-")
        .to_string();
    status.with_file_name(format!("{prefix}-{name}"))
}

impl JobFile {
    /// The file's jobs, or none when there is no file.
    pub fn load(path: &Path) -> anyhow::Result<JobFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a backfill file: remove it to drop the backfills it holds",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JobFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file durably (removes it when no job is left).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if self.jobs.is_empty() && self.known.is_none() {
            return match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("removing {}", path.display()))
                }
                _ => Ok(()),
            };
        }
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        crate::checkpoint::write_durably(path, &bytes)
    }

    /// Adds a job and returns its id.
    pub fn add(
        &mut self,
        tenants: Vec<String>,
        table: String,
        filter: Option<String>,
        estimated_rows: u64,
        reason: &str,
    ) -> u64 {
        self.next_id += 1;
        self.jobs.push(Job {
            id: self.next_id,
            tenants,
            table,
            filter,
            after: None,
            rows: 0,
            estimated_rows,
            reason: reason.to_string(),
        });
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_survive_a_save_and_an_empty_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(dir.path(), "my slot");
        assert!(path.ends_with("backfill-my_slot.json"));
        let mut file = JobFile::default();
        let id = file.add(vec!["a".into()], "public.t".into(), None, 5, "requested");
        file.jobs[0].after = Some(vec!["42".into()]);
        file.save(&path).unwrap();
        let back = JobFile::load(&path).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.jobs[0].id, id);
        file.jobs.clear();
        file.save(&path).unwrap();
        assert!(!path.exists());
        assert_eq!(JobFile::load(&path).unwrap().jobs.len(), 0);
    }
}
