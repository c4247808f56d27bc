//! The HTTP endpoint: `GET /metrics`, `/healthz`, `/readyz`.
//!
//! A tokio listener answering one request per connection (`Connection: close`), not hyper's
//! server: three read-only GET routes for a scraper and a kubelet need no keep-alive, chunking
//! or HTTP/2, and hyper's server side would add its `server`/`http1` features plus hyper-util
//! to the build for them. Each request is read with a 5 s deadline and at most 8 KiB, so a
//! client that connects and says nothing holds a task, not the endpoint.
//!
//! Port: none is chosen for the user (metrics are off unless an address is given); the README
//! suggests 9977, which is not any well-known exporter's (postgres_exporter has 9187, node
//! exporter 9100) so it can sit beside them on one host.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Metrics;
use crate::error::SetupError;

/// The address a user gave, checked (`--metrics-addr`, `metrics_addr`); the error names the
/// text, for the caller to say where it came from.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "{text:?} is not an address to listen on: give IP:PORT, e.g. 127.0.0.1:9977 \
             (this host only) or 0.0.0.0:9977 (all interfaces)"
        )
    })
}

/// Binds `addr` (so that a taken port fails the start, in one line) and serves the metrics on
/// it until the process ends.
pub async fn serve(addr: SocketAddr) -> Result<SocketAddr, SetupError> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        let fix = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another process listens there (another conduit-wasm?): choose a free port"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "that IP is not one of this host's: use 127.0.0.1 or 0.0.0.0"
            }
            std::io::ErrorKind::PermissionDenied => "ports below 1024 need privileges: use 9977",
            _ => "choose another address",
        };
        SetupError::new(format!(
            "cannot serve metrics on {addr} (--metrics-addr or metrics_addr): {e}; {fix}"
        ))
    })?;
    let local = listener.local_addr().unwrap_or(addr);
    let metrics = super::install();
    tracing::info!("metrics on http://{local}/metrics (health: /healthz, /readyz)");
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((conn, _)) => {
                    tokio::spawn(answer(conn, metrics));
                }
                Err(e) => {
                    tracing::debug!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(local)
}

async fn answer(mut conn: TcpStream, metrics: &'static Metrics) {
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    if read.is_err() {
        return;
    }
    let request = String::from_utf8_lossy(&buf);
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            metrics.encode(),
        ),
        ("GET", "/healthz") => check(metrics.live()),
        ("GET", "/readyz") => check(metrics.ready()),
        ("GET", _) => (
            "404 Not Found",
            TEXT,
            "not found: /metrics, /healthz or /readyz\n".into(),
        ),
        _ => ("405 Method Not Allowed", TEXT, "only GET\n".into()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).await;
    let _ = conn.write_all(body.as_bytes()).await;
    let _ = conn.shutdown().await;
}

const TEXT: &str = "text/plain; charset=utf-8";

/// 200 `ok`, or 503 with the reason (Kubernetes reads the status; people read the body).
fn check(result: Result<(), String>) -> (&'static str, &'static str, String) {
    match result {
        Ok(()) => ("200 OK", TEXT, "ok\n".into()),
        Err(why) => ("503 Service Unavailable", TEXT, format!("{why}\n")),
    }
}
