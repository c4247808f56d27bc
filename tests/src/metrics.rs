//! The metrics endpoint (`--metrics-addr`): plain HTTP GETs, and scrapes parsed with a real
//! Prometheus text-format parser (`prometheus-parse`), as a Prometheus server would read them.

use std::collections::BTreeSet;
use std::time::Duration;

use prometheus_parse::{Scrape, Value as Sample};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{eventually, Running};

/// `GET path` from `addr` (`IP:PORT`): the status code and the body.
pub async fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let fetch = async {
        let mut conn = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        conn.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        conn.read_to_string(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("not an HTTP response: {response:?}"))?;
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("no status code in {head:?}"))?;
        Ok((code, body.to_string()))
    };
    tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| format!("GET http://{addr}{path}: no answer in 10 s"))?
}

/// One scrape of `http://addr/metrics`, parsed.
pub async fn scrape(addr: &str) -> Result<Scrape, String> {
    let (code, body) = http_get(addr, "/metrics").await?;
    if code != 200 {
        return Err(format!("/metrics answered {code}: {body}"));
    }
    Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .map_err(|e| format!("unparsable scrape ({e}):\n{body}"))
}

/// The value of `metric` (with its `_total` for counters) for `tenant` (`None`: a metric
/// without labels).
pub fn metric(scrape: &Scrape, metric: &str, tenant: Option<&str>) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("tenant") == tenant)
        .and_then(|s| match s.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => Some(v),
            _ => None,
        })
}

/// Every metric name a scrape has, including each histogram's `_bucket`, `_sum` and `_count`
/// series (what a query may name), and metrics described (`# HELP`) that have no series yet
/// (a backfill's, before any backfill).
pub fn metric_names(scrape: &Scrape) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = scrape.docs.keys().cloned().collect();
    for s in &scrape.samples {
        names.insert(s.metric.clone());
        if let Sample::Histogram(_) = s.value {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{}{suffix}", s.metric));
            }
        }
    }
    names
}

/// Scrapes `addr` until `check` accepts a scrape (its `Ok`), or the deadline passes (the
/// failure shows the last `Err` and the process's stderr).
pub async fn wait_for_metrics<T>(
    r: &Running,
    addr: &str,
    what: &str,
    deadline: Duration,
    mut check: impl FnMut(&Scrape) -> Result<T, String>,
) -> T {
    eventually(what, deadline, async || {
        let s = scrape(addr).await?;
        check(&s).map_err(|e| format!("{e}\nstderr:\n{}", r.stderr()))
    })
    .await
}
