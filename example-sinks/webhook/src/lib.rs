//! POSTs each batch of changes as one JSON document to a URL, through `wasi:http`.
//!
//! Body: `{"changes": [<ChangeView::to_json of each change>, ...]}` with
//! `Content-Type: application/json`. Snapshot rows are forwarded with `"op":"read"`, as they
//! arrive, not turned into inserts: the receiver decides (one that keeps a copy of the table
//! applies a read as an upsert).
//!
//! Configuration:
//! - `url` (required): `http://` or `https://` URL to POST to. Its origin (scheme, host, port)
//!   must be granted to the sink (a tenant's `capabilities.http`, or `--allow-http`).
//! - `authorization` (optional): the value of the `Authorization` header, e.g. `Bearer …`. Meant
//!   for a secret: give it through a tenant's `secrets`; it is never printed.
//! - `timeout_ms` (optional): connect and first-byte timeout of a request (the runtime caps both
//!   at the sink's call deadline anyway).
//!
//! Outcome of a batch: a 2xx response accepts it; 429, 5xx and network errors are retryable; a
//! request the runtime refuses (origin not granted), and any other status, is fatal, with the
//! status and the start of the response body in the message.

use std::io::{Read, Write};

use conduit_sink_sdk::{serde_json, Batch, Config, Sink, SinkError};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme,
};

/// How much of an error response's body goes into the message.
const SNIPPET: usize = 300;

struct Webhook {
    target: Target,
    authorization: Option<String>,
    timeout_ns: Option<u64>,
}

/// The parts of `url` a request is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    https: bool,
    authority: String,
    path_with_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("expected http://host[:port]/path or https://…")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => return Err(format!("scheme {other:?} is not http or https")),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err("the URL needs a host (and no user@ part)".into());
        }
        let path_with_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Target {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }

    /// `scheme://authority/path`, without the query (which may hold a token).
    fn shown(&self) -> String {
        let path = self.path_with_query.split('?').next().unwrap_or_default();
        format!(
            "{}://{}{path}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }

    /// `scheme://host:port`, as an operator grants it.
    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let has_port = match self.authority.rsplit_once(':') {
            Some((_, p)) => !p.contains(']'),
            None => false,
        };
        if has_port {
            format!("{scheme}://{}", self.authority)
        } else {
            format!(
                "{scheme}://{}:{}",
                self.authority,
                if self.https { 443 } else { 80 }
            )
        }
    }
}

/// Why a POST did not end in a response.
enum Failure {
    /// The runtime refused the request: its origin is not granted.
    Denied,
    /// Connecting, sending or receiving failed.
    Network(String),
    /// The request could not even be built (a bad header value, …).
    Invalid(String),
}

impl Webhook {
    fn build_request(&self, body_len: usize) -> Result<OutgoingRequest, Failure> {
        let mut entries: Vec<(String, Vec<u8>)> = vec![
            ("content-type".into(), b"application/json".to_vec()),
            ("content-length".into(), body_len.to_string().into_bytes()),
        ];
        if let Some(auth) = &self.authorization {
            entries.push(("authorization".into(), auth.clone().into_bytes()));
        }
        let headers = Fields::from_list(&entries)
            .map_err(|e| Failure::Invalid(format!("building the request headers: {e:?}")))?;
        let request = OutgoingRequest::new(headers);
        let scheme = if self.target.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let set = request
            .set_method(&Method::Post)
            .and_then(|()| request.set_scheme(Some(&scheme)))
            .and_then(|()| request.set_authority(Some(&self.target.authority)))
            .and_then(|()| request.set_path_with_query(Some(&self.target.path_with_query)));
        set.map_err(|()| Failure::Invalid(format!("{} is not a usable URL", self.target.shown())))?;
        Ok(request)
    }

    fn options(&self) -> Option<RequestOptions> {
        let ns = self.timeout_ns?;
        let options = RequestOptions::new();
        // The runtime may refuse to set a timeout; its own cap applies then.
        let _ = options.set_connect_timeout(Some(ns));
        let _ = options.set_first_byte_timeout(Some(ns));
        Some(options)
    }

    /// Sends `body`; returns the response's status and the start of its body.
    fn post(&self, body: &[u8]) -> Result<(u16, String), Failure> {
        let request = self.build_request(body.len())?;
        let outgoing = request
            .body()
            .map_err(|()| Failure::Invalid("the request body was already taken".into()))?;
        // Hand the request over before writing the body: the runtime streams it to the server
        // and buffers only a little, so writing first could wait forever.
        let response = outgoing_handler::handle(request, self.options()).map_err(classify)?;
        let written = write_body(outgoing, body);
        response.subscribe().block();
        let response = match response.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(classify(code)),
            Some(Err(())) | None => {
                return Err(Failure::Network("the response was lost".into()));
            }
        };
        // The response decides, unless part of the body never left: a server that answers 2xx
        // before reading it all has not stored it. (Once the declared length is sent, the
        // runtime closes the body stream, so a flush or finish may fail after a complete send.)
        if let Err(BodyError::Incomplete(e)) = written {
            if response.status() / 100 == 2 {
                return Err(Failure::Network(format!("sending the body: {e}")));
            }
        }
        let status = response.status();
        let snippet = if status / 100 == 2 {
            String::new()
        } else {
            read_snippet(&response)
        };
        Ok((status, snippet))
    }
}

/// How writing a request body went wrong.
enum BodyError {
    /// Some bytes were not accepted.
    Incomplete(String),
    /// Every byte was accepted; flushing or finishing the body failed.
    AfterSend,
}

fn write_body(outgoing: OutgoingBody, body: &[u8]) -> Result<(), BodyError> {
    let mut stream = outgoing
        .write()
        .map_err(|()| BodyError::Incomplete("the body stream was already taken".into()))?;
    if let Err(e) = stream.write_all(body) {
        return Err(BodyError::Incomplete(e.to_string()));
    }
    let flushed = Write::flush(&mut stream);
    drop(stream);
    let finished = OutgoingBody::finish(outgoing, None);
    match (flushed, finished) {
        (Ok(()), Ok(())) => Ok(()),
        _ => Err(BodyError::AfterSend),
    }
}

fn read_snippet(response: &IncomingResponse) -> String {
    let Ok(body) = response.consume() else {
        return String::new();
    };
    let Ok(mut stream) = body.stream() else {
        return String::new();
    };
    let mut bytes = Vec::new();
    let _ = stream
        .by_ref()
        .take(SNIPPET as u64 + 1)
        .read_to_end(&mut bytes);
    drop(stream);
    let cut = bytes.len() > SNIPPET;
    bytes.truncate(SNIPPET);
    let text = String::from_utf8_lossy(&bytes);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if cut {
        format!("{text}…")
    } else {
        text
    }
}

fn classify(code: ErrorCode) -> Failure {
    match code {
        ErrorCode::HttpRequestDenied => Failure::Denied,
        ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestMethodInvalid => {
            Failure::Invalid(format!("{code:?}"))
        }
        other => Failure::Network(format!("{other:?}")),
    }
}

impl Sink for Webhook {
    fn connect(config: Config) -> Result<Self, SinkError> {
        let url = config.require("url")?;
        let target = Target::parse(url.trim())
            .map_err(|e| SinkError::fatal(format!("sink config `url`: {e}")))?;
        let authorization = config
            .get("authorization")
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        if authorization
            .as_deref()
            .is_some_and(|a| a.contains(['\r', '\n']))
        {
            return Err(SinkError::fatal(
                "sink config `authorization` contains a line break",
            ));
        }
        let timeout_ns = config
            .parse::<u64>("timeout_ms")?
            .map(|ms| ms.saturating_mul(1_000_000));
        Ok(Webhook {
            target,
            authorization,
            timeout_ns,
        })
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut body = Vec::with_capacity(64 + batch.len() * 256);
        body.extend_from_slice(b"{\"changes\":[");
        for (i, change) in batch.changes().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, &change.to_json())
                .map_err(|e| SinkError::fatal(format!("encoding a change as JSON: {e}")))?;
        }
        body.extend_from_slice(b"]}");

        let shown = self.target.shown();
        match self.post(&body) {
            Ok((status, _)) if (200..300).contains(&status) => Ok(()),
            Ok((status, snippet)) if status == 429 || status >= 500 => Err(SinkError::retryable(
                format!("POST {shown}: HTTP {status}: {snippet}"),
            )),
            Ok((status, snippet)) => Err(SinkError::fatal(format!(
                "POST {shown}: HTTP {status}: {snippet}"
            ))),
            Err(Failure::Denied) => Err(SinkError::fatal(format!(
                "POST {shown}: the runtime refused the request: grant the origin {} to this \
                 sink (a tenant's capabilities.http, or --allow-http)",
                self.target.origin()
            ))),
            Err(Failure::Network(e)) => Err(SinkError::retryable(format!("POST {shown}: {e}"))),
            Err(Failure::Invalid(e)) => Err(SinkError::fatal(format!("POST {shown}: {e}"))),
        }
    }
}

conduit_sink_sdk::export_sink!(Webhook);

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://127.0.0.1:8080/hook?token=x").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path_with_query, "/hook?token=x");
        assert!(!t.https);
        assert_eq!(t.shown(), "http://127.0.0.1:8080/hook");
        assert_eq!(t.origin(), "http://127.0.0.1:8080");
        let t = Target::parse("HTTPS://example.com").unwrap();
        assert_eq!((t.https, t.path_with_query.as_str()), (true, "/"));
        assert_eq!(t.origin(), "https://example.com:443");
        assert_eq!(
            Target::parse("http://[::1]/x").unwrap().origin(),
            "http://[::1]:80"
        );
        assert_eq!(
            Target::parse("http://h?q=1").unwrap().path_with_query,
            "/?q=1"
        );
        assert!(Target::parse("ftp://h/").is_err());
        assert!(Target::parse("h/x").is_err());
        assert!(Target::parse("http:///x").is_err());
        assert!(Target::parse("http://u:p@h/x").is_err());
    }
}
