//! One connection to one Kafka broker: size-prefixed requests and responses encoded by the
//! `kafka-protocol` crate, API versions negotiated with `ApiVersions`, and SASL/PLAIN.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use conduit_sink_sdk::net::TcpStream;
use kafka_protocol::messages::{
    ApiVersionsRequest, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

/// The largest response accepted (a produce or metadata response is far smaller).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Why a request failed.
#[derive(Debug)]
pub enum WireError {
    /// The connection failed or timed out: open a new one and try again.
    Io(String),
    /// The broker cannot serve us (no usable API version, SASL refused): retrying will not help.
    Refused(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(e) | WireError::Refused(e) => f.write_str(e),
        }
    }
}

fn io(e: impl std::fmt::Display) -> WireError {
    WireError::Io(e.to_string())
}

/// A failed read or write: "the broker closed the connection" rather than std's "failed to fill
/// whole buffer".
fn io_error(e: std::io::Error) -> WireError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => io("the broker closed the connection"),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            io("no response within timeout_ms")
        }
        _ => io(e),
    }
}

pub struct Conn {
    stream: TcpStream,
    correlation: i32,
    client_id: StrBytes,
    /// API key → (min, max) version the broker supports.
    versions: HashMap<i16, (i16, i16)>,
}

impl Conn {
    /// Connects, negotiates versions and, with `sasl`, authenticates with PLAIN.
    pub fn open(
        addr: &str,
        timeout: Duration,
        client_id: &str,
        sasl: Option<(&str, &str)>,
    ) -> Result<Conn, WireError> {
        let stream =
            TcpStream::connect(addr).map_err(|e| io(format!("connecting to {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(timeout));
        let _ = stream.set_write_timeout(Some(timeout));
        let mut conn = Conn {
            stream,
            correlation: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
            versions: HashMap::new(),
        };
        // v0 is understood by every broker; its answer lists every API's versions.
        let response = conn.send(ApiVersionsRequest::default(), 0)?;
        if response.error_code != 0 {
            return Err(WireError::Refused(format!(
                "ApiVersions failed with error code {}",
                response.error_code
            )));
        }
        conn.versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        if let Some((user, password)) = sasl {
            conn.sasl_plain(user, password)?;
        }
        Ok(conn)
    }

    /// The highest version of `R` that both we (`ours`: the versions this sink is written for)
    /// and the broker speak.
    pub fn version<R: Request>(&self, ours: (i16, i16)) -> Result<i16, WireError> {
        let (lo, hi) = self.versions.get(&R::KEY).copied().ok_or_else(|| {
            WireError::Refused(format!("the broker does not support API key {}", R::KEY))
        })?;
        let v = hi.min(ours.1);
        if v < lo.max(ours.0) {
            return Err(WireError::Refused(format!(
                "no common version of API key {}: the broker speaks {lo}..={hi}, this sink {}..={}",
                R::KEY,
                ours.0,
                ours.1
            )));
        }
        Ok(v)
    }

    /// Sends `request` at `version` and reads its response.
    pub fn send<R: Request>(&mut self, request: R, version: i16) -> Result<R::Response, WireError> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::with_capacity(1024);
        body.put_i32(0); // the size, filled in below
        header
            .encode(&mut body, R::header_version(version))
            .map_err(|e| io(format!("encoding a request header: {e}")))?;
        request
            .encode(&mut body, version)
            .map_err(|e| io(format!("encoding API key {} v{version}: {e}", R::KEY)))?;
        let size = (body.len() - 4) as i32;
        body[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&body).map_err(io_error)?;
        self.stream.flush().map_err(io_error)?;

        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).map_err(io_error)?;
        let size = i32::from_be_bytes(size);
        if size < 4 || size as usize > MAX_RESPONSE {
            return Err(io(format!("a response of {size} bytes")));
        }
        let mut buf = vec![0; size as usize];
        self.stream.read_exact(&mut buf).map_err(io_error)?;
        let mut buf = Bytes::from(buf);
        let header = ResponseHeader::decode(&mut buf, R::Response::header_version(version))
            .map_err(|e| io(format!("decoding a response header: {e}")))?;
        if header.correlation_id != self.correlation {
            return Err(io(format!(
                "response to request {} while waiting for {}",
                header.correlation_id, self.correlation
            )));
        }
        let response = R::Response::decode(&mut buf, version)
            .map_err(|e| io(format!("decoding API key {} v{version}: {e}", R::KEY)))?;
        if buf.has_remaining() {
            return Err(io(format!(
                "{} bytes left after the response to API key {}",
                buf.remaining(),
                R::KEY
            )));
        }
        Ok(response)
    }

    fn sasl_plain(&mut self, user: &str, password: &str) -> Result<(), WireError> {
        let v = self.version::<SaslHandshakeRequest>((1, 1))?;
        let handshake = self.send(
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
            v,
        )?;
        if handshake.error_code != 0 {
            let offered: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(WireError::Refused(format!(
                "the broker does not accept SASL PLAIN (error code {}; it offers {offered:?})",
                handshake.error_code
            )));
        }
        let v = self.version::<SaslAuthenticateRequest>((0, 2))?;
        let mut token = Vec::with_capacity(user.len() + password.len() + 2);
        token.push(0);
        token.extend_from_slice(user.as_bytes());
        token.push(0);
        token.extend_from_slice(password.as_bytes());
        let auth = self.send(
            SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)),
            v,
        )?;
        if auth.error_code != 0 {
            // The broker's message never contains the password.
            let message = auth
                .error_message
                .as_ref()
                .map(|m| m.as_str())
                .unwrap_or("");
            return Err(WireError::Refused(format!(
                "SASL PLAIN authentication as {user:?} failed (error code {}: {message}): check the sink's `sasl_username` and `sasl_password` secret",
                auth.error_code
            )));
        }
        Ok(())
    }
}
