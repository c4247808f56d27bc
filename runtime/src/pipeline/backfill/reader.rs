//! A backfill's reading task: on each request, low watermark, one chunk, high watermark.
//!
//! The chunk goes to the loop *before* the high watermark is written, so when the loop meets
//! that watermark in the stream the rows are already in its channel.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::assemble::RelationInfo;
use crate::source::backfill::{Chunk, ChunkReader, TableKey};
use crate::source::conninfo::ConnInfo;

/// Rows per chunk: one round trip of about 1–10 MiB for ordinary rows, and what the loop holds
/// per backfill between the two watermarks.
pub const CHUNK_ROWS: usize = 10_000;

/// "Read the chunk numbered `chunk`, after this key."
pub struct Ask {
    pub chunk: u64,
    pub after: Option<Vec<String>>,
}

/// What a reading task tells the loop.
pub enum ReaderEvent {
    Chunk { job: u64, chunk: u64, data: Chunk },
    Failed { job: u64, error: String },
}

/// What a reading task needs.
pub struct ReaderSetup {
    pub conn: ConnInfo,
    pub job: u64,
    /// Distinguishes this process's watermarks from an earlier run's, which the stream may
    /// carry again after a restart.
    pub nonce: u64,
    pub relation: Arc<RelationInfo>,
    pub key: TableKey,
    pub filter: Option<String>,
}

/// The watermark text of chunk `chunk` of job `job`: `<nonce>:<job>:<chunk>:<lw|hw>`.
pub fn mark(nonce: u64, job: u64, chunk: u64, high: bool) -> String {
    format!("{nonce}:{job}:{chunk}:{}", if high { "hw" } else { "lw" })
}

/// Parses a watermark written by [`mark`]: `(nonce, job, chunk, high)`.
pub fn parse_mark(text: &str) -> Option<(u64, u64, u64, bool)> {
    let mut parts = text.split(':');
    let nonce = parts.next()?.parse().ok()?;
    let job = parts.next()?.parse().ok()?;
    let chunk = parts.next()?.parse().ok()?;
    let high = match parts.next()? {
        "hw" => true,
        "lw" => false,
        _ => return None,
    };
    parts.next().is_none().then_some((nonce, job, chunk, high))
}

/// Starts the task; it ends when `asks` closes or something fails (then it says so).
pub fn spawn(
    setup: ReaderSetup,
    mut asks: mpsc::UnboundedReceiver<Ask>,
    events: mpsc::UnboundedSender<ReaderEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let job = setup.job;
        if let Err(error) = serve(&setup, &mut asks, &events).await {
            let _ = events.send(ReaderEvent::Failed { job, error });
        }
    })
}

async fn serve(
    setup: &ReaderSetup,
    asks: &mut mpsc::UnboundedReceiver<Ask>,
    events: &mpsc::UnboundedSender<ReaderEvent>,
) -> Result<(), String> {
    let reader = ChunkReader::open(&setup.conn)
        .await
        .map_err(|e| e.to_string())?;
    while let Some(ask) = asks.recv().await {
        let (nonce, job) = (setup.nonce, setup.job);
        reader
            .watermark(&mark(nonce, job, ask.chunk, false))
            .await
            .map_err(|e| e.to_string())?;
        let data = reader
            .read(
                &setup.relation,
                &setup.key,
                ask.after.as_deref(),
                setup.filter.as_deref(),
                CHUNK_ROWS,
            )
            .await
            .map_err(|e| e.to_string())?;
        tracing::debug!(
            job,
            chunk = ask.chunk,
            rows = data.rows.len(),
            "backfill chunk read"
        );
        let chunk = ask.chunk;
        if events
            .send(ReaderEvent::Chunk { job, chunk, data })
            .is_err()
        {
            return Ok(());
        }
        reader
            .watermark(&mark(nonce, job, chunk, true))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_back() {
        assert_eq!(parse_mark(&mark(7, 3, 12, true)), Some((7, 3, 12, true)));
        assert_eq!(parse_mark(&mark(7, 3, 0, false)), Some((7, 3, 0, false)));
        assert_eq!(parse_mark("7:3:12:xx"), None);
        assert_eq!(parse_mark("7:3:12:hw:extra"), None);
        assert_eq!(parse_mark("someone else's message"), None);
    }
}
