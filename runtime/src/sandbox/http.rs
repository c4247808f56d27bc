//! Outbound HTTP for sinks (`wasi:http/outgoing-handler`), limited to the origins a sink was
//! granted.
//!
//! Every sink is linked with `wasi:http`, whether or not it was granted an origin: a component
//! that imports it must instantiate either way, and a request to an origin that is not granted is
//! refused when it is sent, with `error-code::HTTP-request-denied` for the guest and a warning
//! (`sink denied HTTP request to <origin>`, with the tenant) for the operator. An origin is a
//! scheme, a host and a port, compared exactly as a browser's same-origin rule does: host names
//! are compared case-insensitively and are not resolved, so `http://localhost:8080` and
//! `http://127.0.0.1:8080` are different origins, and a granted host name is reached wherever it
//! resolves when the request is sent.
//!
//! Nothing here runs on a call into a sink that does not use HTTP: the linker entries are only
//! looked at while the component is pre-instantiated, and the per-instance state is a few words.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt as _;
use wasmtime_wasi_http::p2::bindings::http::types::{DnsErrorPayload, ErrorCode};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpCtx, WasiHttpHooks};

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpScheme {
    Http,
    Https,
}

impl HttpScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpScheme::Http => "http",
            HttpScheme::Https => "https",
        }
    }

    /// The port of a URL that names none.
    pub fn default_port(self) -> u16 {
        match self {
            HttpScheme::Http => 80,
            HttpScheme::Https => 443,
        }
    }

    /// Case-insensitive, as URL schemes are.
    pub fn parse(s: &str) -> Option<HttpScheme> {
        if s.eq_ignore_ascii_case("http") {
            Some(HttpScheme::Http)
        } else if s.eq_ignore_ascii_case("https") {
            Some(HttpScheme::Https)
        } else {
            None
        }
    }
}

/// An origin a sink may send HTTP requests to. `host` is lowercase; an IPv6 address keeps its
/// brackets (`[::1]`), as it appears in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpOrigin {
    pub scheme: HttpScheme,
    pub host: String,
    pub port: u16,
}

impl HttpOrigin {
    pub fn new(scheme: HttpScheme, host: &str, port: u16) -> HttpOrigin {
        HttpOrigin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        }
    }

    /// `scheme://host[:port]`, scheme `http` or `https`, nothing after the authority (a single
    /// trailing `/` is accepted).
    pub fn parse(origin: &str) -> Result<HttpOrigin, String> {
        let bad = |why: &str| {
            format!("{origin:?} is not an origin ({why}); expected e.g. \"https://api.example.com\" or \"http://127.0.0.1:8080\"")
        };
        let (scheme, rest) = origin
            .split_once("://")
            .ok_or_else(|| bad("no scheme://"))?;
        let scheme =
            HttpScheme::parse(scheme).ok_or_else(|| bad("the scheme must be http or https"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(bad(
                "an origin has a host and a port, no path, query or user",
            ));
        }
        // `[v6]:port`, `[v6]`, `host:port` or `host`.
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
                let port = match after {
                    "" => None,
                    p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
                };
                (format!("[{addr}]"), port)
            }
            None => match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            },
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| bad("bad port"))?,
            None => scheme.default_port(),
        };
        Ok(HttpOrigin::new(scheme, &host, port))
    }

    fn matches(&self, scheme: HttpScheme, host: &str, port: u16) -> bool {
        self.scheme == scheme && self.port == port && self.host.eq_ignore_ascii_case(host)
    }
}

impl fmt::Display for HttpOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

impl std::str::FromStr for HttpOrigin {
    type Err = String;
    fn from_str(s: &str) -> Result<HttpOrigin, String> {
        HttpOrigin::parse(s)
    }
}

/// The `wasi:http` part of a sink's `Store`.
pub(crate) struct HttpState {
    pub(crate) ctx: WasiHttpCtx,
    pub(crate) policy: OriginPolicy,
}

impl HttpState {
    /// `timeout` bounds each phase of a request (connect, first byte, between bytes): a guest
    /// blocked in a host call is not interrupted by its CPU deadline, so the call deadline is
    /// applied here too.
    pub(crate) fn new(
        origins: Arc<[HttpOrigin]>,
        tenant: Option<Arc<str>>,
        timeout: Duration,
    ) -> HttpState {
        HttpState {
            ctx: WasiHttpCtx::new(),
            policy: OriginPolicy {
                origins,
                tenant,
                timeout,
                denials: 0,
            },
        }
    }
}

/// Decides every outgoing request of one sink.
pub(crate) struct OriginPolicy {
    origins: Arc<[HttpOrigin]>,
    tenant: Option<Arc<str>>,
    timeout: Duration,
    /// Requests refused so far; only the first [`LOGGED_DENIALS`] are logged, so that a sink
    /// retrying in a loop cannot flood the log.
    denials: u32,
}

/// Refused requests logged per sink instance.
const LOGGED_DENIALS: u32 = 5;

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;
type SendFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), wasmtime_wasi_http::Error>>
        + Send,
>;

impl OriginPolicy {
    /// `Ok` when the request's origin is granted; `Err` with the origin (for the log) when not.
    fn check(&self, uri: &http::Uri) -> Result<(), String> {
        let scheme_str = uri.scheme_str().unwrap_or("");
        let host = uri.host().unwrap_or("");
        let scheme = HttpScheme::parse(scheme_str);
        let port = uri
            .port_u16()
            .or_else(|| scheme.map(HttpScheme::default_port));
        match (scheme, port) {
            (Some(scheme), Some(port))
                if self.origins.iter().any(|o| o.matches(scheme, host, port)) =>
            {
                Ok(())
            }
            (Some(scheme), Some(port)) => Err(HttpOrigin::new(scheme, host, port).to_string()),
            _ => Err(format!("{scheme_str}://{host}")),
        }
    }

    fn bounded(&self, options: Option<RequestOptions>) -> RequestOptions {
        let cap = |t: Option<Duration>| Some(t.map_or(self.timeout, |t| t.min(self.timeout)));
        let o = options.unwrap_or_default();
        RequestOptions {
            connect_timeout: cap(o.connect_timeout),
            first_byte_timeout: cap(o.first_byte_timeout),
            between_bytes_timeout: cap(o.between_bytes_timeout),
        }
    }
}

/// The guest gets these errors as `error-code`s and reports them in its own words (the worker
/// logs that with the tenant), so the host only notes them at debug level, tagged.
impl OriginPolicy {
    fn note(&self, what: &str, err: &dyn fmt::Debug) {
        let tenant = self.tenant.as_deref().unwrap_or("-");
        tracing::debug!(tenant, "sink HTTP request failed: {what}: {err:?}");
    }
}

impl WasiHttpHooks for OriginPolicy {
    fn p2_error_from_hyper(&mut self, err: &hyper::Error) -> ErrorCode {
        self.note("protocol", err);
        if err.is_timeout() {
            ErrorCode::ConnectionReadTimeout
        } else if err.is_incomplete_message() || err.is_closed() {
            ErrorCode::HttpResponseIncomplete
        } else {
            ErrorCode::HttpProtocolError
        }
    }

    fn p2_error_from_connect(&mut self, err: &std::io::Error) -> ErrorCode {
        self.note("connect", err);
        match err.kind() {
            std::io::ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                ErrorCode::ConnectionTerminated
            }
            _ => ErrorCode::ConnectionRefused,
        }
    }

    fn p2_error_from_tls(&mut self, err: &std::io::Error) -> ErrorCode {
        self.note("TLS", err);
        ErrorCode::TlsProtocolError
    }

    fn p2_error_from_dns(&mut self, err: &rustls::pki_types::InvalidDnsNameError) -> ErrorCode {
        self.note("DNS", err);
        ErrorCode::DnsError(DnsErrorPayload {
            rcode: Some("invalid dns name".to_string()),
            info_code: None,
        })
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        drop(fut);
        if let Err(origin) = self.check(request.uri()) {
            self.denials = self.denials.saturating_add(1);
            let more = if self.denials == LOGGED_DENIALS {
                " (further refusals of this sink instance are not logged)"
            } else {
                ""
            };
            match &self.tenant {
                _ if self.denials > LOGGED_DENIALS => {}
                Some(tenant) => tracing::warn!(
                    tenant = %tenant,
                    "sink denied HTTP request to {origin}: not in the tenant's \
                     capabilities.http{more}"
                ),
                None => tracing::warn!(
                    "sink denied HTTP request to {origin}: not granted (--allow-http \
                     {origin}){more}"
                ),
            }
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let options = self.bounded(options);
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(|body| body.boxed_unsync()),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::pin::Pin;

    fn origin(s: &str) -> HttpOrigin {
        HttpOrigin::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_origins() {
        assert_eq!(
            origin("http://127.0.0.1:8080"),
            HttpOrigin::new(HttpScheme::Http, "127.0.0.1", 8080)
        );
        assert_eq!(
            origin("HTTPS://API.Example.com/"),
            HttpOrigin::new(HttpScheme::Https, "api.example.com", 443)
        );
        assert_eq!(
            origin("http://[::1]:9000"),
            HttpOrigin::new(HttpScheme::Http, "[::1]", 9000)
        );
        assert_eq!(origin("http://[::1]").port, 80);
        assert_eq!(origin("https://h").to_string(), "https://h:443");
        for bad in [
            "127.0.0.1:80",
            "ftp://h",
            "http://",
            "http://h/path",
            "http://h:x",
            "http://h:70000",
            "http://u@h",
            "http://[::1",
            "http://h?q",
        ] {
            assert!(HttpOrigin::parse(bad).is_err(), "{bad} parsed");
        }
    }

    fn policy(origins: &[&str]) -> OriginPolicy {
        HttpState::new(
            origins.iter().map(|o| origin(o)).collect(),
            Some("t1".into()),
            Duration::from_secs(5),
        )
        .policy
    }

    #[test]
    fn origin_check_is_scheme_host_and_port() {
        let p = policy(&["http://127.0.0.1:8080", "https://api.example.com"]);
        let ok = |u: &str| p.check(&u.parse().unwrap());
        assert_eq!(ok("http://127.0.0.1:8080/hook?x=1"), Ok(()));
        assert_eq!(ok("https://API.example.com/v1"), Ok(()));
        assert_eq!(ok("https://api.example.com:443/v1"), Ok(()));
        assert_eq!(
            ok("http://api.example.com/v1"),
            Err("http://api.example.com:80".into())
        );
        assert_eq!(
            ok("http://127.0.0.1:8081/"),
            Err("http://127.0.0.1:8081".into())
        );
        assert_eq!(
            ok("http://localhost:8080/"),
            Err("http://localhost:8080".into())
        );
        assert!(policy(&[])
            .check(&"http://127.0.0.1:8080/".parse().unwrap())
            .is_err());
    }

    #[test]
    fn timeouts_are_capped_by_the_call_deadline() {
        let p = policy(&[]);
        let o = p.bounded(Some(RequestOptions {
            connect_timeout: Some(Duration::from_millis(10)),
            first_byte_timeout: Some(Duration::from_secs(600)),
            between_bytes_timeout: None,
        }));
        assert_eq!(o.connect_timeout, Some(Duration::from_millis(10)));
        assert_eq!(o.first_byte_timeout, Some(Duration::from_secs(5)));
        assert_eq!(o.between_bytes_timeout, Some(Duration::from_secs(5)));
    }

    fn request(url: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Full::new(bytes::Bytes::from_static(b"{}"))
            .map_err(|never| match never {})
            .boxed_unsync();
        http::Request::post(url)
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    }

    /// A request to a granted origin goes out; one to any other origin never reaches it.
    #[tokio::test]
    async fn sends_only_to_granted_origins() {
        let granted = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        other.set_nonblocking(true).unwrap();
        let port = granted.local_addr().unwrap().port();
        let other_port = other.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = granted.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.ends_with(b"{}") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "connection closed early");
                seen.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });

        let mut p = policy(&[&format!("http://127.0.0.1:{port}")]);
        let denied = Pin::from(p.send_request(
            request(&format!("http://127.0.0.1:{other_port}/x")),
            None,
            Box::new(async { Ok(()) }),
        ))
        .await;
        assert!(matches!(
            denied,
            Err(wasmtime_wasi_http::Error::HttpRequestDenied)
        ));
        assert!(
            other.accept().is_err(),
            "the denied origin got a connection"
        );

        let (response, io) = Pin::from(p.send_request(
            request(&format!("http://127.0.0.1:{port}/hook")),
            None,
            Box::new(async { Ok(()) }),
        ))
        .await
        .unwrap_or_else(|e| panic!("granted request failed: {e}"));
        assert_eq!(response.status(), 204);
        drop(response);
        let _ = Pin::from(io).await;
        let seen = server.join().unwrap();
        assert!(seen.starts_with("POST /hook HTTP/1.1\r\n"), "{seen}");
    }
}
