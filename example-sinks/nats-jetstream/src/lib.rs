//! Publishes every row change to NATS JetStream, over plain TCP, speaking the NATS text protocol
//! itself (`proto.rs`; the `async-nats` crate needs tokio and OS sockets that a `wasm32-wasip2`
//! component does not have).
//!
//! One message per change, on the subject of a template (`cdc.{schema}.{table}` by default), with
//! the change's JSON line as payload and the headers `Nats-Msg-Id` (`<commit LSN>-<seq>`: the
//! stream drops a message it has already stored within its duplicate window), `Conduit-Op`,
//! `Conduit-Table`, `Conduit-Lsn` and `Conduit-Seq`. Each message asks for JetStream's
//! acknowledgement (`HPUB` with a reply subject); `publish` returns `Ok` only once every message of
//! the batch is acknowledged. Messages are pipelined, [`Settings::max_in_flight`] at a time, each
//! (after the first of a send) carrying `Nats-Expected-Last-Msg-Id` = the previous one's id, so
//! that a message JetStream refuses is never followed by a stored one: a retry never reorders.
//! Config and delivery: README.md.

pub mod proto;
pub mod settings;

use std::io::{BufReader, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use conduit_sink_sdk::net::TcpStream;
use conduit_sink_sdk::{format, Batch, ChangeView, Config, Sink, SinkError};

use proto::{connect_line, encode_hpub, read_op, Ack, Info, ServerOp};
pub use settings::Settings;

/// The subscription id of our reply inbox.
const SID: &str = "1";

struct NatsJetStream {
    settings: Settings,
    conn: Option<Conn>,
    /// `(commit_lsn, seq)` of the last change JetStream acknowledged, so that a batch retried
    /// after a partial failure does not send its acknowledged head again.
    stored: Option<(u64, u32)>,
}

/// An open, authenticated connection with its reply inbox subscribed.
struct Conn {
    io: BufReader<TcpStream>,
    /// `_INBOX.<unique>`; the acknowledgement of message `n` comes on `<inbox>.<n>`.
    inbox: String,
    next_reply: u64,
    info: Info,
}

/// `Nats-Msg-Id` of a change.
pub fn msg_id(settings: &Settings, change: &ChangeView<'_>) -> String {
    format!(
        "{}{}-{}",
        settings.msg_id_prefix,
        format::lsn(change.commit_lsn()),
        change.seq()
    )
}

/// Appends the `HPUB` of `change`, replying to `reply`; `previous` is the id the stream's last
/// message must have (`Nats-Expected-Last-Msg-Id`). Returns the message's id.
pub fn encode_change(
    out: &mut Vec<u8>,
    settings: &Settings,
    change: &ChangeView<'_>,
    reply: &str,
    previous: Option<&str>,
) -> String {
    let id = msg_id(settings, change);
    let subject = settings
        .subject
        .render(change.schema(), change.table(), change.op().as_str());
    let table = change.qualified_table();
    let lsn = format::lsn(change.commit_lsn());
    let seq = change.seq().to_string();
    let mut headers: Vec<(&str, &str)> = vec![("Nats-Msg-Id", &id)];
    if let Some(stream) = &settings.stream {
        headers.push(("Nats-Expected-Stream", stream));
    }
    if let Some(previous) = previous {
        headers.push(("Nats-Expected-Last-Msg-Id", previous));
    }
    let table_header = table.replace(['\r', '\n'], " ");
    headers.extend([
        ("Conduit-Op", change.op().as_str()),
        ("Conduit-Table", &table_header),
        ("Conduit-Lsn", &lsn),
        ("Conduit-Seq", &seq),
    ]);
    encode_hpub(
        out,
        &subject,
        reply,
        &headers,
        change.json_line().as_bytes(),
    );
    id
}

impl NatsJetStream {
    fn connection(&mut self) -> Result<&mut Conn, SinkError> {
        if self.conn.is_none() {
            self.conn = Some(open(&self.settings)?);
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Sends `changes` pipelined and reads every acknowledgement. Returns how many leading
    /// changes JetStream stored (or already had) and the first refusal, if any.
    fn send(&mut self, changes: &[ChangeView<'_>]) -> Result<(usize, Option<String>), SinkError> {
        let settings = self.settings.clone();
        let conn = self.connection()?;
        let first = conn.next_reply;
        conn.next_reply += changes.len() as u64;
        let mut buf = Vec::with_capacity(changes.len() * 600);
        let mut previous: Option<String> = None;
        let mut subjects = Vec::with_capacity(changes.len());
        for (i, change) in changes.iter().enumerate() {
            let start = buf.len();
            let reply = format!("{}.{}", conn.inbox, first + i as u64);
            let chained = if settings.ordered {
                previous.as_deref()
            } else {
                None
            };
            previous = Some(encode_change(&mut buf, &settings, change, &reply, chained));
            if buf.len() - start > conn.info.max_payload + 512 {
                return Err(SinkError::fatal(format!(
                    "change {}/{} of {} is {} bytes, more than the NATS server's max_payload ({}): raise max_payload in the server's config",
                    format::lsn(change.commit_lsn()),
                    change.seq(),
                    change.qualified_table(),
                    buf.len() - start,
                    conn.info.max_payload
                )));
            }
            subjects.push(settings.subject.render(
                change.schema(),
                change.table(),
                change.op().as_str(),
            ));
        }
        let addr = &settings.addr;
        let result = (|| {
            conn.io.get_mut().write_all(&buf)?;
            conn.io.get_mut().flush()?;
            let mut acks: Vec<Option<Result<(), String>>> = vec![None; changes.len()];
            let mut missing = changes.len();
            let prefix = format!("{}.", conn.inbox);
            while missing > 0 {
                let op = read_op(&mut conn.io)?;
                match &op {
                    ServerOp::Ping => conn.io.get_mut().write_all(b"PONG\r\n")?,
                    ServerOp::Err(e) => {
                        return Err(std::io::Error::other(format!("-ERR '{e}'")));
                    }
                    ServerOp::Msg {
                        subject, payload, ..
                    } => {
                        let index = subject
                            .strip_prefix(&prefix)
                            .and_then(|n| n.parse::<u64>().ok())
                            .and_then(|n| n.checked_sub(first))
                            .map(|n| n as usize)
                            .filter(|&n| n < changes.len());
                        let Some(i) = index else { continue };
                        if acks[i].is_some() {
                            continue;
                        }
                        acks[i] = Some(match op.status() {
                            Some(503) => Err(format!(
                                "no JetStream stream captures subject {} (no responders): create a stream whose subjects include it",
                                subjects[i]
                            )),
                            Some(code) if payload.is_empty() => {
                                Err(format!("status {code} for subject {}", subjects[i]))
                            }
                            _ => match Ack::parse(payload) {
                                Ack::Stored { .. } => Ok(()),
                                Ack::Error {
                                    err_code: 10070,
                                    description,
                                    ..
                                } => Err(format!(
                                    "{description} (another publisher wrote to the stream between two of this sink's messages: give the sink a stream of its own, or set ordered=false)"
                                )),
                                Ack::Error { description, .. } => Err(description),
                            },
                        });
                        missing -= 1;
                    }
                    ServerOp::Info(_) | ServerOp::Ok | ServerOp::Pong => {}
                }
            }
            Ok::<_, std::io::Error>(acks)
        })();
        match result {
            Ok(acks) => {
                let stored = acks
                    .iter()
                    .take_while(|a| matches!(a, Some(Ok(()))))
                    .count();
                let error = acks.into_iter().find_map(|a| a.and_then(|r| r.err()));
                Ok((stored, error))
            }
            Err(e) => {
                // The connection is in an unknown state: open a new one next time.
                self.conn = None;
                let e = match e.kind() {
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => format!(
                        "no acknowledgement within {} ms",
                        settings.timeout.as_millis()
                    ),
                    _ => e.to_string(),
                };
                Err(SinkError::retryable(format!("nats at {addr}: {e}")))
            }
        }
    }
}

/// A name for our reply inbox that no other client picks: the server's id and our client id on
/// it (unique in a cluster), and the time and our local port where the sink may read them (a
/// tenant without the `clocks` capability reads the clock as zero).
fn unique_inbox(stream: &TcpStream, info: &Info) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
    let server: String = info
        .server_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!(
        "_INBOX.cdcw{server}x{:x}x{nanos:x}x{port:x}",
        info.client_id
    )
}

fn open(settings: &Settings) -> Result<Conn, SinkError> {
    let addr = &settings.addr;
    let retry = |what: &str, e: &dyn std::fmt::Display| {
        SinkError::retryable(format!("nats at {addr}: {what}: {e}"))
    };
    let stream = TcpStream::connect(addr)
        .map_err(|e| SinkError::retryable(format!("connecting to nats at {addr}: {e}")))?;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(settings.timeout));
    let _ = stream.set_write_timeout(Some(settings.timeout));
    let mut io = BufReader::with_capacity(64 * 1024, stream);
    let info = match read_op(&mut io).map_err(|e| retry("reading INFO", &e))? {
        ServerOp::Info(json) => Info::parse(&json).map_err(|e| retry("INFO", &e))?,
        other => return Err(retry("expected INFO", &format!("{other:?}"))),
    };
    let inbox = unique_inbox(io.get_ref(), &info);
    if info.tls_required {
        return Err(SinkError::fatal(format!(
            "nats at {addr} requires TLS, which this sink does not speak: allow plain connections on a listener for it"
        )));
    }
    if !info.headers {
        return Err(SinkError::fatal(format!(
            "nats at {addr} (version {}) does not support message headers: use NATS server 2.2 or later",
            info.version
        )));
    }
    let a = &settings.auth;
    if info.auth_required && a.user.is_none() && a.token.is_none() {
        return Err(SinkError::fatal(format!(
            "nats at {addr} requires authentication: give the sink `user` and `password`, or `token` (as secrets)"
        )));
    }
    let mut hello = connect_line(&settings.auth, "conduit-wasm nats-jetstream").into_bytes();
    hello.extend_from_slice(b"PING\r\n");
    io.get_mut()
        .write_all(&hello)
        .map_err(|e| retry("CONNECT", &e))?;
    loop {
        match read_op(&mut io).map_err(|e| retry("CONNECT", &e))? {
            ServerOp::Pong => break,
            ServerOp::Ping => io
                .get_mut()
                .write_all(b"PONG\r\n")
                .map_err(|e| retry("CONNECT", &e))?,
            ServerOp::Err(e) if e.to_ascii_lowercase().contains("authorization") => {
                // The server's message never contains the credentials.
                return Err(SinkError::fatal(format!(
                    "nats at {addr} rejected the credentials ({e}): check the sink's `user`/`password` or `token` secrets"
                )));
            }
            ServerOp::Err(e) => return Err(retry("CONNECT", &e)),
            _ => {}
        }
    }
    if !info.jetstream {
        return Err(SinkError::retryable(format!(
            "nats at {addr} does not have JetStream enabled: start nats-server with -js (or `jetstream {{}}` in its config)"
        )));
    }
    io.get_mut()
        .write_all(format!("SUB {inbox}.* {SID}\r\n").as_bytes())
        .map_err(|e| retry("SUB", &e))?;
    Ok(Conn {
        io,
        inbox,
        next_reply: 0,
        info,
    })
}

impl Sink for NatsJetStream {
    fn connect(config: Config) -> Result<Self, SinkError> {
        Ok(NatsJetStream {
            settings: Settings::from_config(&config)?,
            conn: None,
            stored: None,
        })
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        // Changes a previous, partly failed attempt at this batch got acknowledged are skipped.
        let stored = self.stored;
        let pending: Vec<ChangeView<'_>> = batch
            .changes()
            .filter(|c| stored.is_none_or(|s| c.position() > s))
            .collect();
        for chunk in pending.chunks(self.settings.max_in_flight) {
            let (acknowledged, error) = self.send(chunk)?;
            if acknowledged > 0 {
                self.stored = Some(chunk[acknowledged - 1].position());
            }
            if let Some(e) = error {
                let change = &chunk[acknowledged];
                return Err(SinkError::retryable(format!(
                    "nats at {}: JetStream refused change {}/{} of {}: {e}",
                    self.settings.addr,
                    format::lsn(change.commit_lsn()),
                    change.seq(),
                    change.qualified_table()
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

conduit_sink_sdk::export_sink!(NatsJetStream);

#[cfg(test)]
mod tests;
