//! A minimal PostgreSQL frontend for the replication connection.
//!
//! Upstream tokio-postgres cannot enter CopyBoth mode (sfackler/rust-postgres#116), which logical
//! replication needs, and the crates.io replication clients either hard-code protocol version 1
//! (pgwire-replication 0.5) or drop unchanged-TOAST columns (pg_walstream). So we speak the few
//! messages replication needs ourselves, and reuse `postgres-protocol` (the codec and SCRAM
//! implementation tokio-postgres itself is built on) for everything that has a codec there.
//! TLS (SSLRequest, or direct) and SCRAM channel binding follow the source URL's `sslmode` and
//! `channel_binding`, with the rustls configuration from [`super::tls`].

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{
    ChannelBinding, ScramSha256, SCRAM_SHA_256, SCRAM_SHA_256_PLUS,
};
use postgres_protocol::message::{backend, frontend};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_postgres::config::ChannelBinding as ChannelBindingMode;

use super::conninfo::{ConnInfo, Endpoint};
use super::tls::{self, HandshakeError};
use crate::error::SetupError;

/// Any byte stream we can speak the protocol over (TCP, TLS over TCP, or a unix socket).
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// An error reported by the server, with its SQLSTATE so callers can tell causes apart.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{severity}: {message} (SQLSTATE {code})")]
pub struct ServerError {
    pub severity: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Setup(#[from] SetupError),
    /// No connection could be made. Fatal at start (the URL is probably wrong); while running,
    /// a server that is restarting, so the pipeline retries.
    #[error("{0}")]
    Unreachable(SetupError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("replication connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("replication connection: unexpected message {0:?} from the server")]
    Unexpected(char),
}

/// One backend message: its tag and body (without the length word).
pub struct Frame {
    pub tag: u8,
    pub body: Bytes,
}

pub struct Connection {
    stream: Box<dyn Transport>,
    read_buf: BytesMut,
    write_buf: BytesMut,
    /// The `tls-server-end-point` channel-binding data when the connection uses TLS and the
    /// server's certificate allows binding.
    server_end_point: Option<Vec<u8>>,
}

impl Connection {
    /// Opens a connection in `replication=database` mode (with TLS as `sslmode` says) and
    /// authenticates.
    pub async fn connect(info: &ConnInfo) -> Result<Connection, WireError> {
        let opened = async {
            let stream = open(&info.endpoint)
                .await
                .map_err(|e| unreachable(&info.endpoint, &e.to_string()))?;
            start_tls(stream, info).await
        };
        let (stream, server_end_point) = tokio::time::timeout(info.connect_timeout, opened)
            .await
            .map_err(|_| unreachable(&info.endpoint, "timed out"))??;
        let mut conn = Connection {
            stream,
            read_buf: BytesMut::with_capacity(64 * 1024),
            write_buf: BytesMut::with_capacity(1024),
            server_end_point,
        };
        let params = [
            ("user", info.user.as_str()),
            ("database", info.dbname.as_str()),
            ("replication", "database"),
            ("application_name", "conduit-wasm"),
            ("client_encoding", "UTF8"),
            // pgoutput prints values with the walsender session's settings; pin the ones the
            // assembler parses so a server's local configuration cannot change the text forms.
            ("DateStyle", "ISO"),
            ("TimeZone", "UTC"),
            ("IntervalStyle", "postgres"),
            ("extra_float_digits", "3"),
            ("bytea_output", "hex"),
        ];
        frontend::startup_message(params.iter().copied(), &mut conn.write_buf)?;
        conn.flush().await?;
        conn.authenticate(info).await?;
        Ok(conn)
    }

    async fn authenticate(&mut self, info: &ConnInfo) -> Result<(), WireError> {
        let password = || {
            info.password.clone().ok_or_else(|| {
                SetupError::new(format!(
                    "authentication failed for user {:?}: the server asks for a password; put it \
                     in the source URL (postgres://user:password@host/db)",
                    info.user
                ))
            })
        };
        // Channel binding as tokio-postgres does it: bind when we have TLS data and the server
        // offers SCRAM-SHA-256-PLUS; `channel_binding=require` refuses anything else before a
        // password is sent.
        let binding_mode = info.config.get_channel_binding();
        let binding_data = self
            .server_end_point
            .clone()
            .filter(|_| binding_mode != ChannelBindingMode::Disable);
        let mut bound = false;
        let check_binding = |bound: bool| -> Result<(), WireError> {
            if binding_mode == ChannelBindingMode::Require && !bound {
                return Err(tls::channel_binding_required(&info.endpoint).into());
            }
            Ok(())
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            let frame = self.read_frame().await?;
            match frame.tag {
                b'R' => {
                    let mut body = frame.body;
                    if body.len() < 4 {
                        return Err(WireError::Unexpected('R'));
                    }
                    match body.get_i32() {
                        0 => check_binding(bound)?,
                        3 => {
                            check_binding(false)?;
                            frontend::password_message(&password()?, &mut self.write_buf)?;
                            self.flush().await?;
                        }
                        5 => {
                            if body.len() < 4 {
                                return Err(WireError::Unexpected('R'));
                            }
                            check_binding(false)?;
                            let mut salt = [0u8; 4];
                            body.copy_to_slice(&mut salt);
                            let hash = md5_hash(info.user.as_bytes(), &password()?, salt);
                            frontend::password_message(hash.as_bytes(), &mut self.write_buf)?;
                            self.flush().await?;
                        }
                        10 => {
                            let offers =
                                |name: &str| body.split(|b| *b == 0).any(|m| m == name.as_bytes());
                            let (binding, mechanism) = match (
                                offers(SCRAM_SHA_256_PLUS),
                                offers(SCRAM_SHA_256),
                                binding_data.clone(),
                            ) {
                                (true, _, Some(data)) => (
                                    ChannelBinding::tls_server_end_point(data),
                                    SCRAM_SHA_256_PLUS,
                                ),
                                (true, _, None) | (false, true, None) => {
                                    (ChannelBinding::unsupported(), SCRAM_SHA_256)
                                }
                                // We could bind but the server does not offer it: say so, so a
                                // server that does support it detects a downgrade.
                                (false, true, Some(_)) => {
                                    (ChannelBinding::unrequested(), SCRAM_SHA_256)
                                }
                                (false, false, _) => {
                                    return Err(SetupError::new(
                                        "the server offers no SASL mechanism we support \
                                         (SCRAM-SHA-256)",
                                    )
                                    .into());
                                }
                            };
                            bound = mechanism == SCRAM_SHA_256_PLUS;
                            check_binding(bound)?;
                            let s = ScramSha256::new(&password()?, binding);
                            frontend::sasl_initial_response(
                                mechanism,
                                s.message(),
                                &mut self.write_buf,
                            )?;
                            self.flush().await?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram.as_mut().ok_or(WireError::Unexpected('R'))?;
                            s.update(&body)?;
                            frontend::sasl_response(s.message(), &mut self.write_buf)?;
                            self.flush().await?;
                        }
                        12 => {
                            let s = scram.as_mut().ok_or(WireError::Unexpected('R'))?;
                            s.finish(&body)?;
                        }
                        other => {
                            return Err(SetupError::new(format!(
                                "the server asks for an authentication method we do not support \
                                 (code {other}); use trust, password, md5 or scram-sha-256"
                            ))
                            .into())
                        }
                    }
                }
                b'S' | b'K' | b'N' => {}
                b'Z' => return Ok(()),
                // Refused (pg_hba.conf, password, role): the caller turns the SQLSTATE into advice.
                b'E' => return Err(parse_error(frame)?.into()),
                other => return Err(WireError::Unexpected(other as char)),
            }
        }
    }

    /// Runs a replication command or SQL statement with the simple query protocol and returns the
    /// rows as text (`None` for NULL).
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, WireError> {
        frontend::query(sql, &mut self.write_buf)?;
        self.flush().await?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            let frame = self.read_frame().await?;
            match frame.tag {
                b'D' => rows.push(parse_data_row(frame.body)?),
                b'Z' => break,
                b'E' => error = Some(WireError::Server(parse_error(frame)?)),
                _ => {}
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }

    /// Sends a command that answers with CopyBothResponse (START_REPLICATION) and waits for it.
    pub async fn start_copy_both(&mut self, sql: &str) -> Result<(), WireError> {
        frontend::query(sql, &mut self.write_buf)?;
        self.flush().await?;
        loop {
            let frame = self.read_frame().await?;
            match frame.tag {
                b'W' => return Ok(()),
                b'E' => {
                    let err = parse_error(frame)?;
                    // The server sends ReadyForQuery after an error; consume it so the
                    // connection stays usable, but report the error either way.
                    let _ = self.read_frame().await;
                    return Err(err.into());
                }
                b'N' | b'S' => {}
                other => return Err(WireError::Unexpected(other as char)),
            }
        }
    }

    /// Queues a CopyData message; call `flush` to send.
    pub fn queue_copy_data(&mut self, payload: &[u8]) -> Result<(), WireError> {
        frontend::CopyData::new(payload)?.write(&mut self.write_buf);
        Ok(())
    }

    pub fn queue_copy_done(&mut self) {
        frontend::copy_done(&mut self.write_buf);
    }

    pub fn queue_terminate(&mut self) {
        frontend::terminate(&mut self.write_buf);
    }

    pub async fn flush(&mut self) -> Result<(), WireError> {
        if !self.write_buf.is_empty() {
            self.stream.write_all(&self.write_buf).await?;
            self.write_buf.clear();
            self.stream.flush().await?;
        }
        Ok(())
    }

    /// Reads one whole backend message. Cancel-safe: a partial frame stays in the buffer.
    pub async fn read_frame(&mut self) -> Result<Frame, WireError> {
        loop {
            if let Some(frame) = self.try_frame()? {
                return Ok(frame);
            }
            let n = self.stream.read_buf(&mut self.read_buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )
                .into());
            }
        }
    }

    fn try_frame(&mut self) -> Result<Option<Frame>, WireError> {
        if self.read_buf.len() < 5 {
            return Ok(None);
        }
        let tag = self.read_buf[0];
        let len = i32::from_be_bytes([
            self.read_buf[1],
            self.read_buf[2],
            self.read_buf[3],
            self.read_buf[4],
        ]);
        if len < 4 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("invalid message length {len}"),
            )
            .into());
        }
        let total = 1 + len as usize;
        if self.read_buf.len() < total {
            self.read_buf.reserve(total - self.read_buf.len());
            return Ok(None);
        }
        let mut frame = self.read_buf.split_to(total);
        frame.advance(5);
        Ok(Some(Frame {
            tag,
            body: frame.freeze(),
        }))
    }
}

async fn open(endpoint: &Endpoint) -> std::io::Result<Box<dyn Transport>> {
    Ok(match endpoint {
        Endpoint::Tcp { host, port } => {
            let s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            s.set_nodelay(true)?;
            Box::new(s)
        }
        Endpoint::Unix { socket } => Box::new(tokio::net::UnixStream::connect(socket).await?),
    })
}

/// Asks for TLS (SSLRequest, or straight away with `sslnegotiation=direct`) when the policy wants
/// it, and runs the handshake. Returns the stream to speak the protocol over and the
/// channel-binding data.
async fn start_tls(
    mut stream: Box<dyn Transport>,
    info: &ConnInfo,
) -> Result<(Box<dyn Transport>, Option<Vec<u8>>), WireError> {
    let (Some(policy), Endpoint::Tcp { host, .. }) = (info.tls_for(&info.endpoint), &info.endpoint)
    else {
        return Ok((stream, None));
    };
    if !policy.direct {
        let mut buf = BytesMut::with_capacity(8);
        frontend::ssl_request(&mut buf);
        stream.write_all(&buf).await?;
        stream.flush().await?;
        // Exactly one byte: anything the server sent after it must be TLS, not plaintext we
        // would later mistake for protocol messages (CVE-2021-23222).
        let mut answer = [0u8; 1];
        stream.read_exact(&mut answer).await?;
        match answer[0] {
            b'S' => {}
            b'N' if policy.mode.requires_tls() => {
                return Err(policy.server_refused(&info.endpoint).into())
            }
            b'N' => {
                tracing::debug!(
                    "the server does not offer TLS; continuing without (sslmode={})",
                    policy.mode.as_str()
                );
                return Ok((stream, None));
            }
            other => return Err(WireError::Unexpected(other as char)),
        }
    }
    match tls::handshake(stream, host, &info.endpoint, policy).await {
        Ok(done) => Ok((Box::new(done.stream), done.server_end_point)),
        Err(HandshakeError::Setup(e)) => Err(e.into()),
        Err(HandshakeError::Io(e)) => Err(e.into()),
    }
}

fn unreachable(endpoint: &Endpoint, why: &str) -> WireError {
    WireError::Unreachable(SetupError::new(format!(
        "could not connect to PostgreSQL at {endpoint}: {why}; check that the server is running \
         and the host and port in the source URL are right"
    )))
}

/// Parses an ErrorResponse frame with postgres-protocol's codec.
pub fn parse_error(frame: Frame) -> Result<ServerError, WireError> {
    let mut buf = BytesMut::with_capacity(frame.body.len() + 5);
    buf.extend_from_slice(&[frame.tag]);
    buf.extend_from_slice(&((frame.body.len() + 4) as i32).to_be_bytes());
    buf.extend_from_slice(&frame.body);
    let Some(backend::Message::ErrorResponse(body)) = backend::Message::parse(&mut buf)? else {
        return Err(WireError::Unexpected(frame.tag as char));
    };
    let mut err = ServerError {
        severity: String::new(),
        code: String::new(),
        message: String::new(),
    };
    let mut fields = body.fields();
    use fallible_iterator::FallibleIterator;
    while let Some(field) = fields.next()? {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'S' => err.severity = value,
            b'C' => err.code = value,
            b'M' => err.message = value,
            _ => {}
        }
    }
    Ok(err)
}

fn parse_data_row(mut body: Bytes) -> Result<Vec<Option<String>>, WireError> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed DataRow");
    if body.len() < 2 {
        return Err(bad().into());
    }
    let n = body.get_i16();
    let mut row = Vec::with_capacity(n.max(0) as usize);
    for _ in 0..n {
        if body.len() < 4 {
            return Err(bad().into());
        }
        let len = body.get_i32();
        if len < 0 {
            row.push(None);
        } else {
            let len = len as usize;
            if body.len() < len {
                return Err(bad().into());
            }
            let value = body.split_to(len);
            row.push(Some(String::from_utf8_lossy(&value).into_owned()));
        }
    }
    Ok(row)
}
