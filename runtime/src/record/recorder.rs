//! Writing batches to an events file as they are delivered (`conduit-wasm run --record FILE`).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::{batch_lines, HEADER};
use crate::event::Batch;

/// Appends batches to an events file (format: [`crate::record`]).
///
/// For `run --record FILE`: create it once before streaming, call [`Recorder::append`] with each
/// batch **after the sink accepted it** (so the file holds exactly what was acknowledged, in
/// order; a batch that is retried is recorded once), and [`Recorder::close`] on shutdown.
///
/// ```no_run
/// # fn demo(batches: &[conduit_wasm::event::Batch]) -> std::io::Result<()> {
/// use conduit_wasm::record::Recorder;
/// let mut rec = Recorder::create("events.jsonl")?; // or Recorder::append_to(..) to continue
/// for batch in batches {
///     rec.append(batch)?; // one write(2) per batch; the bytes are in the OS when it returns
/// }
/// rec.close()?; // fsync
/// # Ok(()) }
/// ```
///
/// Each `append` writes the whole batch with one `write_all`, so a crash leaves at most one
/// partial last line, which [`super::read_events`] reports by line number. `append` does not
/// fsync (a recording is a debugging aid, not part of the delivery guarantee); call
/// [`Recorder::sync`] for that. Dropping a `Recorder` without `close` loses nothing that
/// `append` returned for, but skips the fsync.
pub struct Recorder {
    path: PathBuf,
    file: File,
    next_batch: u64,
    buf: String,
}

impl Recorder {
    /// Creates (or truncates) `path` and writes the format header.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Recorder> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::create(&path).map_err(|e| named(&path, e))?;
        file.write_all(format!("{HEADER}\n").as_bytes())
            .map_err(|e| named(&path, e))?;
        Ok(Recorder {
            path,
            file,
            next_batch: 0,
            buf: String::new(),
        })
    }

    /// Opens `path` to add batches after those already in it (numbering continues); creates it
    /// with the header when it does not exist or is empty. Refuses (`InvalidData`) a file that is
    /// not an events file or whose last line is cut short, rather than append after garbage.
    pub fn append_to(path: impl AsRef<Path>) -> io::Result<Recorder> {
        let path = path.as_ref().to_path_buf();
        let existing = match std::fs::metadata(&path) {
            // A pipe or a device (`/dev/null`, a FIFO read by another program) has nothing to
            // continue, and reading it could block or never end.
            Ok(meta) if !meta.is_file() => None,
            Ok(_) => Some(
                File::open(&path)
                    .and_then(scan)
                    .map_err(|e| named(&path, e))?,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(named(&path, e)),
        };
        match existing {
            Some(Existing {
                batches: count,
                empty: false,
            }) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(|e| named(&path, e))?;
                Ok(Recorder {
                    path,
                    file,
                    next_batch: count,
                    buf: String::new(),
                })
            }
            _ => Recorder::create(path),
        }
    }

    /// Writes one batch (its batch line and one line per change).
    pub fn append(&mut self, batch: &Batch) -> io::Result<()> {
        self.buf.clear();
        batch_lines(batch, self.next_batch, &mut self.buf);
        self.file
            .write_all(self.buf.as_bytes())
            .map_err(|e| named(&self.path, e))?;
        self.next_batch += 1;
        if self.buf.capacity() > 16 << 20 {
            self.buf = String::new();
        }
        Ok(())
    }

    /// How many batches the file holds (including those there before `append_to`).
    pub fn batches(&self) -> u64 {
        self.next_batch
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// fsyncs what was appended so far.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data().map_err(|e| named(&self.path, e))
    }

    /// fsyncs and closes the file (a pipe or device, which cannot be fsynced, is just closed).
    pub fn close(mut self) -> io::Result<()> {
        self.file.flush().map_err(|e| named(&self.path, e))?;
        match self.file.sync_all() {
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
            other => other.map_err(|e| named(&self.path, e)),
        }
    }
}

/// What is already in a file `append_to` is asked to continue.
struct Existing {
    batches: u64,
    empty: bool,
}

/// Counts the batch lines of an existing recording, refusing what appending would corrupt: a
/// file that is not an events file, and one whose last line was cut short (a run killed in the
/// middle of a write, or a full disk), which the next batch line would be glued onto.
fn scan(file: File) -> io::Result<Existing> {
    let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut input = BufReader::new(file);
    let mut line = Vec::new();
    let mut found = Existing {
        batches: 0,
        empty: true,
    };
    while input.read_until(b'\n', &mut line)? > 0 {
        if line.last() != Some(&b'\n') {
            return Err(invalid(
                "its last line is cut short (an interrupted recording): delete that line, or \
                 record to another file",
            ));
        }
        if !line.trim_ascii().is_empty() {
            if found.empty && !starts_a_recording(&line) {
                return Err(invalid(
                    "not a conduit-wasm events file (its first line is neither the format header \
                     nor a batch line): record to a new file",
                ));
            }
            found.empty = false;
        }
        if line.starts_with(b"{\"batch\":") {
            found.batches += 1;
        }
        line.clear();
    }
    Ok(found)
}

/// Whether a first line is the format header or a batch line.
fn starts_a_recording(line: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line)
        .is_ok_and(|m| m.contains_key("format") || m.contains_key("batch"))
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("events file {}: {e}", path.display()))
}
