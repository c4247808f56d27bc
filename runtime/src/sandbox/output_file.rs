//! A sink's standard output granted as a file (`capabilities.stdout`): delivery, not logging.
//!
//! Everything the guest writes during a call is appended to the file, with no cap, and made
//! durable (`fdatasync`) before the call counts as accepted; the pipeline acknowledges a position
//! to PostgreSQL only after the call that delivered it was accepted, so the slot never moves past
//! output that a crash could still lose. A call that fails (a sink error, a trap) has its output
//! cut off again (the file is truncated to where the call began), so the retry that follows does
//! not repeat it; only a crash between that output reaching the disk and the checkpoint write can
//! leave lines that the next run delivers again (at least once, like every other sink).
//!
//! One `fdatasync` per call, not per write: measured with `stdout-json` (debug build, ext4, two
//! shared cores, time from the insert's start to the slot's acknowledgement), 200,000 rows in one
//! transaction (200 calls of 1,000) took 3.55–3.66 s with it against 2.90–3.53 s with the sync
//! left out, and 20,000 single-row transactions 0.58–0.77 s against 0.45–0.53 s; the log channel
//! took 4.7–5.2 s for the 200,000 rows while dropping most of them.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Output held in memory before it is written to the file within a call: bounds the host's
/// memory whatever the guest writes, while a call of ordinary size costs one `write`.
const WRITE_AT: usize = 1 << 20;

/// The file a sink's stdout is appended to; shared by every instance of the sink (a trapped
/// instance is re-created with the same file).
#[derive(Clone)]
pub struct OutputFile {
    path: Arc<Path>,
    state: Arc<Mutex<FileState>>,
}

struct FileState {
    file: File,
    /// Written by this call but not yet in the file.
    pending: Vec<u8>,
    /// The file's length when the call began: where a failed call's output is cut off.
    call_start: u64,
    /// The first write error of this call; later writes fail with it too.
    failed: Option<String>,
}

impl std::fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputFile({})", self.path.display())
    }
}

impl OutputFile {
    /// Opens (creating it if needed) a regular file for appending, and makes its directory entry
    /// durable, so that output fsynced later cannot vanish with a file a crash forgot.
    pub fn open(path: &Path) -> io::Result<OutputFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::other(
                "not a regular file (output is fsynced before the slot moves past it)",
            ));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)?.sync_all()?;
        let call_start = file.metadata()?.len();
        Ok(OutputFile {
            path: path.into(),
            state: Arc::new(Mutex::new(FileState {
                file,
                pending: Vec::new(),
                call_start,
                failed: None,
            })),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FileState> {
        // A poisoned lock only means a panic elsewhere; the state is still consistent enough to
        // truncate or sync, which is all a later call does.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called before each sink call: remembers where its output starts.
    pub fn begin_call(&self) {
        let mut s = self.lock();
        s.pending.clear();
        s.failed = None;
        match s.file.metadata() {
            Ok(m) => s.call_start = m.len(),
            Err(e) => s.failed = Some(format!("reading its length: {e}")),
        }
    }

    /// Called after each sink call. `accepted`: the call returned Ok, and its output must be
    /// durable before that counts; returns why it is not. Otherwise the call's output is cut
    /// off, so that the retry does not append it twice.
    pub fn end_call(&self, accepted: bool) -> Result<(), String> {
        let mut s = self.lock();
        let result = if accepted {
            s.write_pending().and_then(|()| {
                s.file
                    .sync_data()
                    .map_err(|e| format!("syncing it to disk: {e}"))
            })
        } else {
            Ok(())
        };
        if !accepted || result.is_err() {
            s.pending.clear();
            let start = s.call_start;
            if let Err(e) = s.file.set_len(start) {
                tracing::warn!(
                    "cutting a failed call's output off {}: {e}; the retry appends it again",
                    self.path.display()
                );
            }
        }
        result.map_err(|e| {
            format!(
                "the sink's output could not be delivered to {} ({e}); the call is retried",
                self.path.display()
            )
        })
    }

    fn write_bytes(&self, bytes: &[u8]) -> Result<(), String> {
        let mut s = self.lock();
        if let Some(e) = &s.failed {
            return Err(e.clone());
        }
        s.pending.extend_from_slice(bytes);
        if s.pending.len() >= WRITE_AT {
            s.write_pending()?;
        }
        Ok(())
    }
}

impl FileState {
    fn write_pending(&mut self) -> Result<(), String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.file.write_all(&self.pending);
        self.pending.clear();
        result.map_err(|e| {
            let e = format!("writing: {e}");
            self.failed = Some(e.clone());
            e
        })
    }
}

impl IsTerminal for OutputFile {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputFile {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for OutputFile {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::format_err!("{e}")))
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Durability is the host's business at the end of the call, not the guest's: one
        // fdatasync per call, however often the guest flushes.
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for OutputFile {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for OutputFile {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(
            self.write_bytes(buf)
                .map(|()| buf.len())
                .map_err(io::Error::other),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(out: &OutputFile, bytes: &[u8]) {
        out.p2_stream()
            .write(Bytes::copy_from_slice(bytes))
            .unwrap();
    }

    #[test]
    fn everything_written_in_an_accepted_call_is_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, b"earlier\n").unwrap();
        let out = OutputFile::open(&path).unwrap();
        out.begin_call();
        // Far past the log channel's 64 KiB per call, and past WRITE_AT: nothing is cut.
        let line = [b'x'; 99];
        for _ in 0..30_000 {
            write(&out, &line);
            write(&out, b"\n");
        }
        out.end_call(true).unwrap();
        let text = std::fs::read(&path).unwrap();
        assert_eq!(text.len(), 8 + 30_000 * 100, "appended, not replaced");
        assert!(text.starts_with(b"earlier\n"));
    }

    #[test]
    fn a_failed_calls_output_is_cut_off_so_the_retry_is_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let out = OutputFile::open(&path).unwrap();
        out.begin_call();
        write(&out, b"one\n");
        out.end_call(true).unwrap();
        for _ in 0..2 {
            out.begin_call();
            write(&out, b"two\n");
            // Past WRITE_AT, so part of it reached the file before the call failed.
            write(&out, &vec![b'y'; WRITE_AT]);
            out.end_call(false).unwrap();
        }
        out.begin_call();
        write(&out, b"two\n");
        out.end_call(true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
    }

    #[test]
    fn a_path_that_cannot_be_appended_to_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(OutputFile::open(&dir.path().join("no/such/dir/out")).is_err());
        assert!(OutputFile::open(dir.path()).is_err(), "a directory");
    }
}
