//! Appends every row change to a Redis stream with `XADD`, over plain TCP.
//!
//! Config: `addr` (`host:port`, required), `stream` (the stream's key, required), `password`
//! (`AUTH`; give it through the tenant's `secrets`), `maxlen` (`XADD MAXLEN ~ N`), `timeout_ms`
//! (socket read/write timeout, default 10000). One entry per change, with the fields `op`, `table`
//! (`schema.table`), `lsn` (the commit LSN, `X/X`), `seq` and `data` (the change's JSON line).
//! Snapshot rows are forwarded with `op` = `read`, as they arrive: the consumer decides.
//!
//! All `XADD`s of one `publish` call are pipelined in chunks of [`PIPELINE`], each chunk inside
//! `MULTI` … `EXEC` so that Redis stores all of it or none of it, and every reply is read before the
//! call returns; `Ok` means Redis has acknowledged every entry. Without the transaction, a chunk
//! sent while Redis went from refusing writes to accepting them (or back) could be stored with a
//! hole at its start, and its retry would then append the hole's entries after later ones. An
//! error reply or a broken connection is a retryable error (the runtime retries with backoff); the
//! connection is opened on first use and re-opened after a failure. See README.md.

pub mod resp;

use std::io::{BufReader, Write};
use std::time::Duration;

// The SDK's stream is std's on wasm32-wasip2 and calls wasi:sockets itself on
// wasm32-unknown-unknown, where std has no network.
use conduit_sink_sdk::net::TcpStream;
use conduit_sink_sdk::{format, Batch, ChangeView, Config, Sink, SinkError};

use resp::{encode_command, read_reply, Reply};

/// Most commands written before their replies are read.
pub const PIPELINE: usize = 256;

struct RedisStream {
    settings: Settings,
    conn: Option<BufReader<TcpStream>>,
    /// `(commit_lsn, seq)` of the last change Redis acknowledged, so that a batch retried after a
    /// partial failure does not append its first entries twice.
    stored: Option<(u64, u32)>,
}

/// The sink's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub addr: String,
    pub stream: String,
    pub password: Option<String>,
    pub maxlen: Option<u64>,
    pub timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings, SinkError> {
        let addr = config.require("addr")?.trim().to_string();
        if addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .is_none()
        {
            return Err(SinkError::fatal(format!(
                "sink config `addr={addr}` is not host:port (e.g. 127.0.0.1:6379)"
            )));
        }
        let timeout_ms = config.parse::<u64>("timeout_ms")?.unwrap_or(10_000);
        if timeout_ms == 0 {
            return Err(SinkError::fatal(
                "sink config `timeout_ms` must be positive",
            ));
        }
        Ok(Settings {
            addr,
            stream: config.require("stream")?.to_string(),
            password: config.get("password").map(str::to_string),
            maxlen: config.parse("maxlen")?,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

/// Appends the `XADD` of `change` to `out`:
/// `XADD <stream> [MAXLEN ~ <n>] * op <op> table <schema.table> lsn <X/X> seq <n> data <json>`.
pub fn encode_xadd(out: &mut Vec<u8>, settings: &Settings, change: &ChangeView<'_>) {
    let maxlen = settings.maxlen.map(|n| n.to_string());
    let table = change.qualified_table();
    let lsn = format::lsn(change.commit_lsn());
    let seq = change.seq().to_string();
    let data = change.to_json().to_string();
    let mut args: Vec<&str> = Vec::with_capacity(16);
    args.extend(["XADD", settings.stream.as_str()]);
    if let Some(n) = &maxlen {
        args.extend(["MAXLEN", "~", n.as_str()]);
    }
    args.extend([
        "*",
        "op",
        change.op().as_str(),
        "table",
        &table,
        "lsn",
        &lsn,
        "seq",
        &seq,
        "data",
        &data,
    ]);
    encode_command(out, &args);
}

impl RedisStream {
    /// The open connection, opening (and authenticating) it first if there is none.
    fn connection(&mut self) -> Result<&mut BufReader<TcpStream>, SinkError> {
        if self.conn.is_none() {
            self.conn = Some(open(&self.settings)?);
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Sends one chunk of `XADD`s as a pipelined `MULTI` … `EXEC` and reads every reply. Returns
    /// how many leading entries Redis stored and the first error reply, if any.
    fn send(&mut self, changes: &[ChangeView<'_>]) -> Result<(usize, Option<String>), SinkError> {
        let mut buf = Vec::with_capacity(changes.len() * 512 + 32);
        encode_command(&mut buf, &["MULTI"]);
        for change in changes {
            encode_xadd(&mut buf, &self.settings, change);
        }
        encode_command(&mut buf, &["EXEC"]);
        let addr = self.settings.addr.clone();
        let conn = self.connection()?;
        let io_result = (|| {
            conn.get_mut().write_all(&buf)?;
            conn.get_mut().flush()?;
            // MULTI's +OK, then +QUEUED (or the reason it was refused) for each XADD.
            let mut first_error = None;
            for _ in 0..=changes.len() {
                if let Reply::Error(e) = read_reply(conn)? {
                    first_error.get_or_insert(e);
                }
            }
            let exec = read_reply(conn)?;
            Ok::<_, std::io::Error>(exec_outcome(exec, first_error))
        })();
        match io_result {
            Ok((stored, error)) => {
                if error.is_some() {
                    // Never leave a half-open transaction behind on the connection.
                    self.conn = None;
                }
                Ok((stored, error))
            }
            Err(e) => {
                // The connection is in an unknown state: open a new one next time.
                self.conn = None;
                Err(SinkError::retryable(format!("redis at {addr}: {e}")))
            }
        }
    }
}

/// What `EXEC` did: with a command refused while queueing (or the transaction refused as a whole),
/// nothing is stored; otherwise its array holds each `XADD`'s result, where only a failure at run
/// time (which would hit every entry alike) can appear.
fn exec_outcome(exec: Reply, refused: Option<String>) -> (usize, Option<String>) {
    match (exec, refused) {
        (Reply::Array(Some(results)), None) => {
            let stored = results.iter().take_while(|r| r.error().is_none()).count();
            let error = results.iter().find_map(|r| r.error().map(str::to_string));
            (stored, error)
        }
        (Reply::Error(e), refused) => (0, Some(refused.unwrap_or(e))),
        (_, Some(refused)) => (0, Some(refused)),
        (other, None) => (0, Some(format!("unexpected reply to EXEC: {other:?}"))),
    }
}

fn open(settings: &Settings) -> Result<BufReader<TcpStream>, SinkError> {
    let addr = &settings.addr;
    let stream = TcpStream::connect(addr)
        .map_err(|e| SinkError::retryable(format!("connecting to redis at {addr}: {e}")))?;
    // Not every platform supports these; a sink without them still works.
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(settings.timeout));
    let _ = stream.set_write_timeout(Some(settings.timeout));
    let mut conn = BufReader::with_capacity(16 * 1024, stream);
    if let Some(password) = &settings.password {
        let mut buf = Vec::new();
        encode_command(&mut buf, &["AUTH", password.as_str()]);
        let reply = conn
            .get_mut()
            .write_all(&buf)
            .and_then(|()| read_reply(&mut conn))
            .map_err(|e| SinkError::retryable(format!("redis at {addr}: AUTH: {e}")))?;
        if let Some(e) = reply.error() {
            // Never echo the password; Redis's message does not contain it.
            let message =
                format!("redis at {addr} rejected AUTH: {e} (check the sink's `password` secret)");
            return Err(
                if e.starts_with("WRONGPASS") || e.contains("invalid password") {
                    SinkError::fatal(message)
                } else {
                    SinkError::retryable(message)
                },
            );
        }
    }
    Ok(conn)
}

impl Sink for RedisStream {
    fn connect(config: Config) -> Result<Self, SinkError> {
        Ok(RedisStream {
            settings: Settings::from_config(&config)?,
            conn: None,
            stored: None,
        })
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        // Entries a previous, partly failed attempt at this batch already stored are skipped.
        let stored = self.stored;
        let pending: Vec<ChangeView<'_>> = batch
            .changes()
            .filter(|c| stored.is_none_or(|s| c.position() > s))
            .collect();
        for chunk in pending.chunks(PIPELINE) {
            let (acknowledged, error) = self.send(chunk)?;
            if acknowledged > 0 {
                self.stored = Some(chunk[acknowledged - 1].position());
            }
            if let Some(e) = error {
                return Err(SinkError::retryable(format!(
                    "redis at {} rejected XADD to stream {:?}: {e}",
                    self.settings.addr, self.settings.stream
                )));
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        self.conn = None;
        Ok(())
    }
}

conduit_sink_sdk::export_sink!(RedisStream);

#[cfg(test)]
mod tests {
    use super::*;
    use conduit_sink_sdk::{Column, Operation, Relation, Value};

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().copied().collect()
    }

    fn batch() -> Batch {
        Batch {
            relations: vec![Relation {
                oid: 16384,
                schema: "public".into(),
                name: "orders".into(),
                columns: vec![
                    Column {
                        name: "id".into(),
                        type_name: "integer".into(),
                        type_oid: 23,
                        key: true,
                    },
                    Column {
                        name: "note".into(),
                        type_name: "text".into(),
                        type_oid: 25,
                        key: false,
                    },
                ],
            }],
            changes: vec![conduit_sink_sdk::Change {
                op: Operation::Insert,
                relation: 0,
                new: Some(vec![Value::Int(7), Value::Text("a\r\nb".into())]),
                old: None,
                xid: 740,
                commit_lsn: 0x16_B374_D848,
                end_lsn: 0x16_B374_D878,
                commit_time: 0,
                seq: 3,
            }],
        }
    }

    #[test]
    fn settings_from_config() {
        let s = Settings::from_config(&config(&[
            ("addr", "127.0.0.1:6379"),
            ("stream", "orders"),
            ("maxlen", "1000"),
            ("password", "pw"),
        ]))
        .unwrap();
        assert_eq!(s.addr, "127.0.0.1:6379");
        assert_eq!(s.stream, "orders");
        assert_eq!(s.maxlen, Some(1000));
        assert_eq!(s.password.as_deref(), Some("pw"));
        assert_eq!(s.timeout, Duration::from_secs(10));

        for (pairs, what) in [
            (&[("stream", "s")][..], "missing sink config `addr`"),
            (
                &[("addr", "127.0.0.1:6379")][..],
                "missing sink config `stream`",
            ),
            (
                &[("addr", "localhost"), ("stream", "s")][..],
                "not host:port",
            ),
            (
                &[("addr", "h:1"), ("stream", "s"), ("maxlen", "x")][..],
                "`maxlen=x` is invalid",
            ),
        ] {
            let e = Settings::from_config(&config(pairs)).unwrap_err();
            assert!(!e.retryable, "{pairs:?}");
            assert!(e.message.contains(what), "{pairs:?}: {}", e.message);
        }
    }

    #[test]
    fn xadd_has_the_documented_fields() {
        let batch = batch();
        let change = batch.change(0).unwrap();
        let mut settings =
            Settings::from_config(&config(&[("addr", "127.0.0.1:6379"), ("stream", "cdc")]))
                .unwrap();
        let mut out = Vec::new();
        encode_xadd(&mut out, &settings, &change);
        let json = change.to_json().to_string();
        let mut expected = Vec::new();
        encode_command(
            &mut expected,
            &[
                "XADD",
                "cdc",
                "*",
                "op",
                "insert",
                "table",
                "public.orders",
                "lsn",
                "16/B374D848",
                "seq",
                "3",
                "data",
                &json,
            ],
        );
        assert_eq!(out, expected, "{}", String::from_utf8_lossy(&out));
        assert!(json.contains(r#""new":{"id":7,"note":"a\r\nb"}"#), "{json}");

        settings.maxlen = Some(500);
        out.clear();
        encode_xadd(&mut out, &settings, &change);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with(
                "*16\r\n$4\r\nXADD\r\n$3\r\ncdc\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n$3\r\n500\r\n$1\r\n*\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_chunk_is_stored_whole_or_not_at_all() {
        let id = |n: u8| Reply::Bulk(Some(vec![b'0' + n]));
        assert_eq!(
            exec_outcome(Reply::Array(Some(vec![id(1), id(2)])), None),
            (2, None)
        );
        // Refused while queueing: EXEC aborts, nothing stored, the first reason is kept.
        let refused = "NOREPLICAS Not enough good replicas to write.".to_string();
        assert_eq!(
            exec_outcome(
                Reply::Error("EXECABORT Transaction discarded".into()),
                Some(refused.clone())
            ),
            (0, Some(refused))
        );
        assert_eq!(
            exec_outcome(Reply::Error("NOREPLICAS at EXEC".into()), None),
            (0, Some("NOREPLICAS at EXEC".into()))
        );
        // A failure at run time: what came before it is stored.
        let wrong = Reply::Error("WRONGTYPE Operation against a key".into());
        assert_eq!(
            exec_outcome(Reply::Array(Some(vec![id(1), wrong.clone(), wrong])), None),
            (1, Some("WRONGTYPE Operation against a key".into()))
        );
    }
}
