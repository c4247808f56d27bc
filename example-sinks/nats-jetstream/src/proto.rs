//! The parts of the NATS client protocol this sink speaks, by hand: the `async-nats` and `nats`
//! crates need tokio or OS threads and sockets that a `wasm32-wasip2` component does not have.
//!
//! Client to server: `CONNECT {json}`, `PING`/`PONG`, `SUB <subject> <sid>`, and
//! `HPUB <subject> <reply> <#header bytes> <#total bytes>` with a `NATS/1.0` header block.
//! Server to client: `INFO {json}`, `+OK`, `-ERR '<message>'`, `PING`/`PONG`,
//! `MSG <subject> <sid> [reply] <#bytes>` and `HMSG <subject> <sid> [reply] <#header bytes>
//! <#total bytes>` (see <https://docs.nats.io/reference/reference-protocols/nats-protocol>).

use std::io::{self, BufRead, Read};

use conduit_sink_sdk::serde_json;

/// The longest control line accepted from the server (an `INFO` with many `connect_urls` is the
/// longest).
const MAX_LINE: usize = 64 * 1024;

/// What the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    /// `INFO {json}`: the JSON text.
    Info(String),
    Ok,
    /// `-ERR '<message>'`: the message, without the quotes.
    Err(String),
    Ping,
    Pong,
    /// A message delivered to one of our subscriptions: `MSG` or `HMSG`.
    Msg {
        subject: String,
        /// The header block (`NATS/1.0 503\r\n...`), empty for `MSG`.
        headers: Vec<u8>,
        payload: Vec<u8>,
    },
}

impl ServerOp {
    /// The status code of an `HMSG`'s header line (`NATS/1.0 503` is "no responders": no stream
    /// listens on the subject), if there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ServerOp::Msg { headers, .. } => {
                let first = headers.split(|&b| b == b'\r').next()?;
                let text = std::str::from_utf8(first).ok()?;
                text.strip_prefix("NATS/1.0")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            }
            _ => None,
        }
    }
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads one operation from the server.
pub fn read_op(r: &mut impl BufRead) -> io::Result<ServerOp> {
    let mut line = Vec::with_capacity(128);
    let n = r.take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    if !line.ends_with(b"\n") {
        return Err(invalid("a protocol line longer than 64 KiB"));
    }
    let text = std::str::from_utf8(&line)
        .map_err(|_| invalid("a protocol line that is not UTF-8"))?
        .trim_end_matches(['\r', '\n']);
    let (verb, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    let rest = rest.trim();
    Ok(match verb.to_ascii_uppercase().as_str() {
        "INFO" => ServerOp::Info(rest.to_string()),
        "+OK" => ServerOp::Ok,
        "-ERR" => ServerOp::Err(rest.trim_matches('\'').to_string()),
        "PING" => ServerOp::Ping,
        "PONG" => ServerOp::Pong,
        "MSG" => {
            let args: Vec<&str> = rest.split_whitespace().collect();
            let (subject, size) = match args.as_slice() {
                [subject, _sid, size] | [subject, _sid, _, size] => (*subject, *size),
                _ => return Err(invalid(format!("bad MSG line: {text}"))),
            };
            let size = parse_size(size, text)?;
            let payload = read_body(r, size)?;
            ServerOp::Msg {
                subject: subject.to_string(),
                headers: Vec::new(),
                payload,
            }
        }
        "HMSG" => {
            let args: Vec<&str> = rest.split_whitespace().collect();
            let (subject, hsize, size) = match args.as_slice() {
                [subject, _sid, hsize, size] | [subject, _sid, _, hsize, size] => {
                    (*subject, *hsize, *size)
                }
                _ => return Err(invalid(format!("bad HMSG line: {text}"))),
            };
            let (hsize, size) = (parse_size(hsize, text)?, parse_size(size, text)?);
            if hsize > size {
                return Err(invalid(format!("bad HMSG line: {text}")));
            }
            let mut body = read_body(r, size)?;
            let payload = body.split_off(hsize);
            ServerOp::Msg {
                subject: subject.to_string(),
                headers: body,
                payload,
            }
        }
        _ => return Err(invalid(format!("unexpected from the server: {text:.200}"))),
    })
}

fn parse_size(size: &str, line: &str) -> io::Result<usize> {
    size.parse::<usize>()
        .ok()
        .filter(|n| *n <= 64 * 1024 * 1024)
        .ok_or_else(|| invalid(format!("bad size in {line}")))
}

/// `size` bytes and the `\r\n` after them.
fn read_body(r: &mut impl BufRead, size: usize) -> io::Result<Vec<u8>> {
    let mut body = vec![0; size + 2];
    r.read_exact(&mut body)?;
    if !body.ends_with(b"\r\n") {
        return Err(invalid("a message body not followed by CRLF"));
    }
    body.truncate(size);
    Ok(body)
}

/// Credentials for `CONNECT`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

/// The `CONNECT` line: no `+OK` per message (`verbose: false`), headers on, and "no responders"
/// statuses so that a publish to a subject no stream captures fails at once instead of timing
/// out.
pub fn connect_line(auth: &Auth, name: &str) -> String {
    let mut o = serde_json::Map::new();
    o.insert("verbose".into(), false.into());
    o.insert("pedantic".into(), false.into());
    o.insert("tls_required".into(), false.into());
    o.insert("name".into(), name.into());
    o.insert("lang".into(), "rust-wasm".into());
    o.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    o.insert("protocol".into(), 1.into());
    o.insert("headers".into(), true.into());
    o.insert("no_responders".into(), true.into());
    if let Some(user) = &auth.user {
        o.insert("user".into(), user.as_str().into());
    }
    if let Some(password) = &auth.password {
        o.insert("pass".into(), password.as_str().into());
    }
    if let Some(token) = &auth.token {
        o.insert("auth_token".into(), token.as_str().into());
    }
    format!("CONNECT {}\r\n", serde_json::Value::Object(o))
}

/// Appends `HPUB <subject> <reply> <#header bytes> <#total bytes>\r\n<headers>\r\n<payload>\r\n`.
/// `headers` are `(name, value)` pairs; values must not contain CR or LF.
pub fn encode_hpub(
    out: &mut Vec<u8>,
    subject: &str,
    reply: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) {
    let mut block = String::with_capacity(128);
    block.push_str("NATS/1.0\r\n");
    for (name, value) in headers {
        block.push_str(name);
        block.push_str(": ");
        block.push_str(value);
        block.push_str("\r\n");
    }
    block.push_str("\r\n");
    let total = block.len() + payload.len();
    out.extend_from_slice(format!("HPUB {subject} {reply} {} {total}\r\n", block.len()).as_bytes());
    out.extend_from_slice(block.as_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// What the server's `INFO` says that matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub headers: bool,
    pub max_payload: usize,
    pub tls_required: bool,
    pub auth_required: bool,
    pub jetstream: bool,
    pub version: String,
    /// The server's id and our client id on it: together unique in a cluster.
    pub server_id: String,
    pub client_id: u64,
}

impl Info {
    pub fn parse(json: &str) -> io::Result<Info> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| invalid(format!("INFO is not JSON: {e}")))?;
        let flag = |k: &str| v.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
        Ok(Info {
            headers: flag("headers"),
            max_payload: v
                .get("max_payload")
                .and_then(|x| x.as_u64())
                .unwrap_or(1024 * 1024) as usize,
            tls_required: flag("tls_required"),
            auth_required: flag("auth_required"),
            jetstream: flag("jetstream"),
            version: v
                .get("version")
                .and_then(|x| x.as_str())
                .unwrap_or("?")
                .to_string(),
            server_id: v
                .get("server_id")
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string(),
            client_id: v.get("client_id").and_then(|x| x.as_u64()).unwrap_or(0),
        })
    }
}

/// A JetStream publish acknowledgement: `{"stream":"S","seq":7[,"duplicate":true]}` or
/// `{"error":{"code":503,"err_code":10077,"description":"..."}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    Stored {
        stream: String,
        seq: u64,
        duplicate: bool,
    },
    Error {
        code: u64,
        err_code: u64,
        description: String,
    },
}

impl Ack {
    pub fn parse(payload: &[u8]) -> Ack {
        // The common case without a JSON parse (one per message adds up):
        // `{"stream":"S","seq":7}` or with `,"duplicate":true` (or `,"domain":"D"`).
        if let Some(ack) = Ack::parse_stored(payload) {
            return ack;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) else {
            return Ack::Error {
                code: 0,
                err_code: 0,
                description: format!(
                    "not a JetStream acknowledgement: {:.200}",
                    String::from_utf8_lossy(payload)
                ),
            };
        };
        if let Some(e) = v.get("error") {
            let n = |k: &str| e.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
            return Ack::Error {
                code: n("code"),
                err_code: n("err_code"),
                description: e
                    .get("description")
                    .and_then(|x| x.as_str())
                    .unwrap_or("(no description)")
                    .to_string(),
            };
        }
        match (
            v.get("stream").and_then(|x| x.as_str()),
            v.get("seq").and_then(|x| x.as_u64()),
        ) {
            (Some(stream), Some(seq)) => Ack::Stored {
                stream: stream.to_string(),
                seq,
                duplicate: v.get("duplicate").and_then(|x| x.as_bool()) == Some(true),
            },
            _ => Ack::Error {
                code: 0,
                err_code: 0,
                description: format!(
                    "not a JetStream acknowledgement: {:.200}",
                    String::from_utf8_lossy(payload)
                ),
            },
        }
    }
}

impl Ack {
    fn parse_stored(payload: &[u8]) -> Option<Ack> {
        let text = std::str::from_utf8(payload).ok()?;
        let rest = text.strip_prefix(r#"{"stream":""#)?;
        let (stream, rest) = rest.split_once('"')?;
        let rest = rest.strip_prefix(r#","seq":"#)?;
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let seq = rest[..digits].parse().ok()?;
        let rest = &rest[digits..];
        let duplicate = match rest {
            "}" => false,
            r#","duplicate":true}"# => true,
            _ => return None, // anything else: the full parse
        };
        (!stream.contains('\\')).then(|| Ack::Stored {
            stream: stream.to_string(),
            seq,
            duplicate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn ops(bytes: &[u8]) -> Vec<ServerOp> {
        let mut r = BufReader::new(bytes);
        let mut out = Vec::new();
        while !r.fill_buf().unwrap().is_empty() {
            out.push(read_op(&mut r).unwrap());
        }
        out
    }

    #[test]
    fn reads_every_server_operation() {
        let got = ops(
            b"INFO {\"headers\":true}\r\n+OK\r\n-ERR 'Authorization Violation'\r\nPING\r\npong\r\n\
MSG _INBOX.a.1 1 5\r\nhello\r\nHMSG _INBOX.a.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
        );
        assert_eq!(got[0], ServerOp::Info("{\"headers\":true}".into()));
        assert_eq!(got[1], ServerOp::Ok);
        assert_eq!(got[2], ServerOp::Err("Authorization Violation".into()));
        assert_eq!(got[3], ServerOp::Ping);
        assert_eq!(got[4], ServerOp::Pong);
        assert_eq!(
            got[5],
            ServerOp::Msg {
                subject: "_INBOX.a.1".into(),
                headers: vec![],
                payload: b"hello".to_vec()
            }
        );
        assert_eq!(got[6].status(), Some(503));
        assert_eq!(got[5].status(), None);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &b"MSG a 1\r\n"[..],
            b"MSG a 1 x\r\n",
            b"MSG a 1 5\r\nhel",
            b"MSG a 1 2\r\nhello\r\n",
            b"HMSG a 1 9 3\r\nabc\r\n",
            b"WHAT\r\n",
            b"PING",
        ] {
            let mut r = BufReader::new(bad);
            assert!(read_op(&mut r).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn hpub_counts_header_and_total_bytes() {
        let mut out = Vec::new();
        encode_hpub(
            &mut out,
            "cdc.public.t",
            "_INBOX.x.1",
            &[("Nats-Msg-Id", "0/1-2")],
            b"{}",
        );
        let text = String::from_utf8(out).unwrap();
        let block = "NATS/1.0\r\nNats-Msg-Id: 0/1-2\r\n\r\n";
        assert_eq!(
            text,
            format!(
                "HPUB cdc.public.t _INBOX.x.1 {} {}\r\n{block}{{}}\r\n",
                block.len(),
                block.len() + 2
            )
        );
    }

    #[test]
    fn connect_carries_only_the_given_credentials() {
        let line = connect_line(
            &Auth {
                token: Some("t0k".into()),
                ..Auth::default()
            },
            "n",
        );
        assert!(
            line.starts_with("CONNECT {") && line.ends_with("}\r\n"),
            "{line}"
        );
        assert!(line.contains(r#""auth_token":"t0k""#), "{line}");
        assert!(line.contains(r#""headers":true"#), "{line}");
        assert!(
            !line.contains("\"user\"") && !line.contains("\"pass\""),
            "{line}"
        );
    }

    #[test]
    fn acks() {
        assert_eq!(
            Ack::parse(br#"{"stream":"S","seq":7,"duplicate":true}"#),
            Ack::Stored {
                stream: "S".into(),
                seq: 7,
                duplicate: true
            }
        );
        assert_eq!(
            Ack::parse(
                br#"{"error":{"code":400,"err_code":10070,"description":"wrong last msg ID: x"}}"#
            ),
            Ack::Error {
                code: 400,
                err_code: 10070,
                description: "wrong last msg ID: x".into()
            }
        );
        assert!(matches!(Ack::parse(b"nope"), Ack::Error { .. }));
        assert_eq!(
            Ack::parse(br#"{"stream":"S","seq":8}"#),
            Ack::Stored {
                stream: "S".into(),
                seq: 8,
                duplicate: false
            }
        );
        // Fields the fast path does not know go through the full parse.
        assert_eq!(
            Ack::parse(br#"{"stream":"S","seq":9,"domain":"hub"}"#),
            Ack::Stored {
                stream: "S".into(),
                seq: 9,
                duplicate: false
            }
        );
    }
}
