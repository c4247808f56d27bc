//! Lines of an event file → batches: the file and line bookkeeping, and the order of header,
//! batch lines and change lines (the format is described in `record/mod.rs`; the objects on each
//! line are read by `parse.rs`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::parse::{check_header, parse_batch_line, parse_change};
use crate::event::{Batch, Relation};

/// A JSON object read from a line, with its 1-based line number.
type NumberedLine = (usize, Map<String, Json>);

/// What is wrong with an events file: one line naming the file and, when it is about one line
/// of it, the line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct EventsError {
    pub file: String,
    /// 1-based line number; 0 when the error is not about one line.
    pub line: usize,
    pub message: String,
}

impl EventsError {
    fn render(&self) -> String {
        let text = if self.line == 0 {
            format!("{}: {}", self.file, self.message)
        } else {
            format!("{} line {}: {}", self.file, self.line, self.message)
        };
        text.replace('\n', " ")
    }
}

/// Reads a whole events file.
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<Batch>, EventsError> {
    let mut reader = EventReader::open(path.as_ref())?;
    let mut batches = Vec::new();
    while let Some((_, batch)) = reader.next_batch()? {
        batches.push(batch);
    }
    Ok(batches)
}

/// Reads an events file one batch at a time.
pub struct EventReader<R> {
    file: String,
    input: R,
    line_no: usize,
    buf: String,
    /// A batch line already read (its line number and relations) whose changes come next.
    pending: Option<(usize, Vec<Relation>)>,
    started: bool,
}

impl EventReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, EventsError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| EventsError {
            file: shown.clone(),
            line: 0,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "not found: pass a file written by `conduit-wasm run --record` or one of \
                     tests/events/*.jsonl"
                        .into()
                }
                _ => format!("cannot read it: {e}"),
            },
        })?;
        Ok(EventReader::new(
            shown,
            BufReader::with_capacity(256 << 10, file),
        ))
    }
}

impl<R: BufRead + 'static> EventReader<R> {
    /// The same reader over a boxed input, so that a file and an in-memory text (the built-in
    /// sample of `conduit-wasm test`) can be read by one code path.
    pub fn boxed(self) -> EventReader<Box<dyn BufRead>> {
        EventReader {
            file: self.file,
            input: Box::new(self.input),
            line_no: self.line_no,
            buf: self.buf,
            pending: self.pending,
            started: self.started,
        }
    }
}

impl<R: BufRead> EventReader<R> {
    /// How errors refer to the input (the file's path as given).
    pub fn name(&self) -> &str {
        &self.file
    }

    /// `name` is how errors refer to the input.
    pub fn new(name: impl Into<String>, input: R) -> Self {
        EventReader {
            file: name.into(),
            input,
            line_no: 0,
            buf: String::new(),
            pending: None,
            started: false,
        }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> EventsError {
        EventsError {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The next non-empty line as JSON, with its line number; `None` at the end.
    fn next_line(&mut self) -> Result<Option<NumberedLine>, EventsError> {
        loop {
            self.buf.clear();
            let n = self.input.read_line(&mut self.buf).map_err(|e| {
                self.err(
                    self.line_no + 1,
                    match e.kind() {
                        std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                        _ => format!("cannot read: {e}"),
                    },
                )
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let line = self.buf.trim();
            if line.is_empty() {
                continue;
            }
            let json: Json = serde_json::from_str(line).map_err(|e| {
                let hint = if self.buf.ends_with('\n') {
                    ""
                } else {
                    " (the last line is cut short: was the recording interrupted?)"
                };
                self.err(self.line_no, format!("not a JSON object: {e}{hint}"))
            })?;
            let Json::Object(map) = json else {
                return Err(self.err(self.line_no, "not a JSON object"));
            };
            return Ok(Some((self.line_no, map)));
        }
    }

    /// The next batch and the line number of its batch line; `None` at the end of the file.
    pub fn next_batch(&mut self) -> Result<Option<(usize, Batch)>, EventsError> {
        let (header_line, relations) = match self.pending.take() {
            Some(p) => p,
            None => loop {
                let Some((no, map)) = self.next_line()? else {
                    return Ok(None);
                };
                let first = !self.started;
                self.started = true;
                if map.contains_key("format") {
                    if !first {
                        return Err(self.err(no, "a format header after the first line"));
                    }
                    check_header(&map).map_err(|m| self.err(no, m))?;
                    continue;
                }
                if map.contains_key("batch") {
                    let relations = parse_batch_line(&map).map_err(|m| self.err(no, m))?;
                    break (no, relations);
                }
                return Err(self.err(
                    no,
                    "a change before the first batch line: every batch starts with a line \
                     {\"batch\":N,\"relations\":[...]}",
                ));
            },
        };
        let mut batch = Batch {
            relations,
            changes: Vec::new(),
        };
        while let Some((no, map)) = self.next_line()? {
            if map.contains_key("batch") {
                let relations = parse_batch_line(&map).map_err(|m| self.err(no, m))?;
                self.pending = Some((no, relations));
                break;
            }
            if map.contains_key("format") {
                return Err(self.err(no, "a format header after the first line"));
            }
            let change = parse_change(&batch, &map).map_err(|m| self.err(no, m))?;
            batch.changes.push(change);
        }
        Ok(Some((header_line, batch)))
    }
}
