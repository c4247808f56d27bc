//! The control socket of a running stream: `<state_dir>/control-<slot>.sock`, through which
//! `conduit-wasm backfill` asks the process that holds the slot for a backfill.
//!
//! A Unix socket rather than a file to poll: the request is checked by the running process
//! (which knows the tenants, the grants and the live schema) and the answer comes back at once,
//! so a mistake is one line and a non-zero exit at the command, not a warning in a log.
//! Anyone who can write to the state directory may ask; it is created with the process's
//! umask, like the checkpoint next to it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// What `conduit-wasm backfill` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Request {
    /// One tenant; `None`: every tenant, each through its own grants.
    pub tenant: Option<String>,
    /// `schema.table` or `table` (in `public`); empty: every published table the tenant(s)
    /// may see.
    pub tables: Vec<String>,
    /// Only rows matching this SQL condition.
    pub filter: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    ok: bool,
    message: String,
}

/// A request and where its answer goes.
pub struct Asked {
    pub request: Request,
    pub reply: oneshot::Sender<Result<String, String>>,
}

pub fn socket_path(state_dir: &Path, slot: &str) -> PathBuf {
    super::jobs::sibling(state_dir, slot, "control").with_extension("sock")
}

/// Listens on the socket (replacing one a dead process left); requests arrive on the receiver.
/// The socket file is removed when the returned guard is dropped.
pub fn listen(path: &Path) -> std::io::Result<(mpsc::Receiver<Asked>, SocketGuard)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, tx).await {
                    tracing::debug!("control connection: {e}");
                }
            });
        }
    });
    Ok((rx, SocketGuard(path.to_path_buf())))
}

/// Removes the socket file.
pub struct SocketGuard(PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn serve(stream: UnixStream, tx: mpsc::Sender<Asked>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let answer = match serde_json::from_str::<Request>(&line) {
        Err(e) => Err(format!("not a backfill request: {e}")),
        Ok(request) => {
            let (reply, answer) = oneshot::channel();
            if tx.send(Asked { request, reply }).await.is_err() {
                Err("the run is stopping".to_string())
            } else {
                answer
                    .await
                    .unwrap_or_else(|_| Err("the run is stopping".to_string()))
            }
        }
    };
    let reply = match answer {
        Ok(message) => Reply { ok: true, message },
        Err(message) => Reply { ok: false, message },
    };
    let mut bytes = serde_json::to_vec(&reply)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await
}

/// Sends `request` to the run listening at `path`; its answer, or why there was none.
pub async fn ask(path: &Path, request: &Request) -> Result<String, String> {
    let stream = UnixStream::connect(path).await.map_err(|e| {
        format!(
            "no run is listening at {} ({e}): backfills are done by a running `conduit-wasm \
             run`; start it with the same state directory and slot first",
            path.display()
        )
    })?;
    let (read, mut write) = stream.into_split();
    let mut bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    write.write_all(&bytes).await.map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(read)
        .read_line(&mut line)
        .await
        .map_err(|e| e.to_string())?;
    let reply: Reply = serde_json::from_str(&line)
        .map_err(|e| format!("the run gave an answer that is not one ({e}): {line:?}"))?;
    if reply.ok {
        Ok(reply.message)
    } else {
        Err(reply.message)
    }
}
