//! `conduit-wasm top`: a running process's tenants, from its metrics endpoint, refreshed in
//! place (like `vector top`), or printed once (`--once`).
//!
//! It reads the same `/metrics` a Prometheus server scrapes, so what it shows is what the
//! dashboards show; rates are the difference of two scrapes over the time between them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::SetupError;

/// One scrape: `(metric name, tenant label or "")` → value.
type Scrape = BTreeMap<(String, String), f64>;

/// Fetches `/metrics` from `addr` (plain HTTP/1.1, one request per connection).
pub async fn scrape(addr: SocketAddr) -> Result<Scrape, SetupError> {
    let unreachable = |e: std::io::Error| {
        SetupError::new(format!(
            "no metrics at http://{addr}/metrics ({e}): is a run with --metrics-addr {addr} \
             (or metrics_addr in its config) running?"
        ))
    };
    let mut conn = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| unreachable(std::io::ErrorKind::TimedOut.into()))?
        .map_err(unreachable)?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes())
        .await
        .map_err(unreachable)?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_string(&mut response))
        .await
        .map_err(|_| unreachable(std::io::ErrorKind::TimedOut.into()))?
        .map_err(unreachable)?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(parse(body)),
        _ => Err(SetupError::new(format!(
            "http://{addr}/metrics did not answer with metrics: is that a conduit-wasm \
             --metrics-addr?"
        ))),
    }
}

/// The samples of our own exposition (`name{labels} value`, one per line); only the `tenant`
/// label is kept, and histogram series are skipped.
fn parse(text: &str) -> Scrape {
    let mut out = Scrape::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        if name.ends_with("_bucket") || labels.contains("le=") {
            continue;
        }
        let tenant = labels
            .split_once("tenant=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or("", |(t, _)| t);
        if let Ok(v) = value.parse::<f64>() {
            out.insert((name.to_string(), tenant.to_string()), v);
        }
    }
    out
}

fn value(s: &Scrape, name: &str, tenant: &str) -> f64 {
    s.get(&(format!("conduit_{name}"), tenant.to_string()))
        .copied()
        .unwrap_or(0.0)
}

/// The view of two scrapes `secs` apart.
pub fn render(addr: SocketAddr, before: &Scrape, now: &Scrape, secs: f64) -> String {
    let tenants: Vec<&str> = now
        .keys()
        .filter(|(name, t)| name == "conduit_tenant_lag_bytes" && !t.is_empty())
        .map(|(_, t)| t.as_str())
        .collect();
    let rate = |name: &str, t: &str| (value(now, name, t) - value(before, name, t)).max(0.0) / secs;
    let mut out = format!(
        "conduit-wasm top  http://{addr}  {}  {:.0} messages/s received  slot lag {}\n\n",
        if value(now, "source_streaming", "") > 0.0 {
            "streaming"
        } else {
            "NOT STREAMING"
        },
        rate("source_received_messages_total", ""),
        bytes(value(now, "slot_lag_bytes", "")),
    );
    out += &format!(
        "{:<20} {:<12} {:>10} {:>12} {:>9} {:>10} {:>9}\n",
        "TENANT", "STATE", "CHANGES/S", "DELIVERED", "QUEUED", "LAG", "LAG S"
    );
    for t in tenants {
        let state = if value(now, "tenant_quarantined", t) > 0.0 {
            "quarantined"
        } else if value(now, "tenant_stalled", t) > 0.0 {
            "STALLED"
        } else {
            "active"
        };
        out += &format!(
            "{:<20} {:<12} {:>10.0} {:>12} {:>9} {:>10} {:>9.1}\n",
            t,
            state,
            rate("tenant_delivered_changes_total", t),
            value(now, "tenant_delivered_changes_total", t),
            value(now, "tenant_queued_changes", t) + value(now, "tenant_in_flight_changes", t),
            bytes(value(now, "tenant_lag_bytes", t)),
            value(now, "tenant_lag_seconds", t),
        );
    }
    out
}

fn bytes(b: f64) -> String {
    match b {
        b if b >= (1u64 << 30) as f64 => format!("{:.1} GiB", b / (1u64 << 30) as f64),
        b if b >= (1 << 20) as f64 => format!("{:.1} MiB", b / (1 << 20) as f64),
        b if b >= 1024.0 => format!("{:.0} KiB", b / 1024.0),
        b => format!("{b:.0} B"),
    }
}

/// Scrapes every `every` and redraws in place until interrupted; with `once`, prints one
/// view (over one interval) as plain text and returns.
pub async fn top(addr: SocketAddr, every: Duration, once: bool) -> Result<(), SetupError> {
    let mut before = scrape(addr).await?;
    let mut at = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let now = scrape(addr).await?;
        let view = render(addr, &before, &now, at.elapsed().as_secs_f64());
        if once {
            print!("{view}");
            return Ok(());
        }
        // Home, clear to the end of the screen: no scrolling, no flicker of a full clear.
        print!("\x1b[H\x1b[J{view}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        (before, at) = (now, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_exposition() {
        let text = "# HELP x\nconduit_tenant_lag_bytes{tenant=\"a\"} 42\n\
                    conduit_tenant_publish_duration_seconds_bucket{le=\"0.1\",tenant=\"a\"} 3\n\
                    conduit_source_streaming 1\n";
        let s = parse(text);
        assert_eq!(value(&s, "tenant_lag_bytes", "a"), 42.0);
        assert_eq!(value(&s, "source_streaming", ""), 1.0);
        assert_eq!(s.len(), 2);
    }
}
