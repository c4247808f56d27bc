//! `TcpStream` over `wasi:sockets` for `wasm32-unknown-unknown`, where std has no network. It
//! makes the calls wasi-libc makes for std on `wasm32-wasip2` (resolve, `start-connect`,
//! `finish-connect`, then the socket's streams, timeouts by polling with a monotonic-clock timer),
//! so the runtime sees, and allows or denies, the same requests.

use std::cell::Cell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::poll;
use wasip2::io::streams::{InputStream, OutputStream, Pollable, StreamError};
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::{instance_network, ip_name_lookup, tcp_create_socket};

#[derive(Debug)]
pub struct TcpStream {
    // Fields drop in order: WASI wants a socket's streams dropped before the socket.
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

impl TcpStream {
    pub fn connect(addr: &str) -> io::Result<TcpStream> {
        let network = instance_network::instance_network();
        let mut last = None;
        for addr in resolve(&network, addr)? {
            match connect_to(&network, addr) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any addresses",
            )
        }))
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(checked_timeout(timeout)?);
        Ok(())
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(checked_timeout(timeout)?);
        Ok(())
    }

    pub fn set_nodelay(&self, _nodelay: bool) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "wasi:sockets 0.2 has no TCP_NODELAY",
        ))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .local_address()
            .map(from_wasi)
            .map_err(socket_error)
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.input.read(buf.len() as u64) {
                Ok(data) if data.is_empty() => {
                    wait(&self.input.subscribe(), self.read_timeout.get(), "read")?
                }
                Ok(data) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    return Ok(n);
                }
                Err(StreamError::Closed) => return Ok(0),
                Err(e) => return Err(stream_error(e)),
            }
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.output.check_write() {
                Ok(0) => wait(&self.output.subscribe(), self.write_timeout.get(), "write")?,
                Ok(room) => {
                    let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                    self.output.write(&buf[..n]).map_err(stream_error)?;
                    return Ok(n);
                }
                Err(e) => return Err(stream_error(e)),
            }
        }
    }

    /// Asks for a flush, then waits until the stream accepts writes again, which it does once
    /// the flush is complete.
    pub fn flush(&mut self) -> io::Result<()> {
        self.output.flush().map_err(stream_error)?;
        loop {
            match self.output.check_write() {
                Ok(0) => wait(&self.output.subscribe(), self.write_timeout.get(), "flush")?,
                Ok(_) => return Ok(()),
                Err(e) => return Err(stream_error(e)),
            }
        }
    }
}

/// std rejects a zero timeout; so does this.
fn checked_timeout(timeout: Option<Duration>) -> io::Result<Option<Duration>> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(timeout)
}

/// Blocks until `ready` is, or `timeout` passes (a `WouldBlock` error, as std reports it).
fn wait(ready: &Pollable, timeout: Option<Duration>, what: &str) -> io::Result<()> {
    let Some(timeout) = timeout else {
        ready.block();
        return Ok(());
    };
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    let timer = monotonic_clock::subscribe_duration(nanos);
    if poll(&[ready, &timer]).contains(&0) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{what} timed out after {timeout:?}"),
        ))
    }
}

/// `ip:port` as is; otherwise `host:port` through `wasi:sockets/ip-name-lookup` (which the
/// runtime may refuse).
fn resolve(network: &Network, addr: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = addr.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let invalid = || io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address");
    let (host, port) = addr.rsplit_once(':').ok_or_else(invalid)?;
    let port: u16 = port.parse().map_err(|_| invalid())?;
    let lookup = ip_name_lookup::resolve_addresses(network, host).map_err(socket_error)?;
    let mut addrs = Vec::new();
    loop {
        match lookup.resolve_next_address() {
            Ok(Some(ip)) => addrs.push(SocketAddr::new(from_wasi_ip(ip), port)),
            Ok(None) => return Ok(addrs),
            Err(ErrorCode::WouldBlock) => lookup.subscribe().block(),
            Err(e) => return Err(socket_error(e)),
        }
    }
}

fn connect_to(network: &Network, addr: SocketAddr) -> io::Result<TcpStream> {
    let family = match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    };
    let socket = tcp_create_socket::create_tcp_socket(family).map_err(socket_error)?;
    socket
        .start_connect(network, to_wasi(addr))
        .map_err(socket_error)?;
    loop {
        match socket.finish_connect() {
            Ok((input, output)) => {
                return Ok(TcpStream {
                    input,
                    output,
                    socket,
                    read_timeout: Cell::new(None),
                    write_timeout: Cell::new(None),
                })
            }
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            Err(e) => return Err(socket_error(e)),
        }
    }
}

fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (a0, a1, a2, a3),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            SocketAddr::new(from_wasi_ip(IpAddress::Ipv4(a.address)), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            SocketAddr::new(from_wasi_ip(IpAddress::Ipv6(a.address)), a.port)
        }
    }
}

fn from_wasi_ip(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4((a, b, c, d)) => Ipv4Addr::new(a, b, c, d).into(),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => Ipv6Addr::new(a, b, c, d, e, f, g, h).into(),
    }
}

fn socket_error(code: ErrorCode) -> io::Error {
    let kind = match code {
        ErrorCode::AccessDenied => io::ErrorKind::PermissionDenied,
        ErrorCode::NotSupported => io::ErrorKind::Unsupported,
        ErrorCode::InvalidArgument => io::ErrorKind::InvalidInput,
        ErrorCode::Timeout => io::ErrorKind::TimedOut,
        ErrorCode::WouldBlock => io::ErrorKind::WouldBlock,
        ErrorCode::ConnectionRefused => io::ErrorKind::ConnectionRefused,
        ErrorCode::ConnectionReset => io::ErrorKind::ConnectionReset,
        ErrorCode::ConnectionAborted => io::ErrorKind::ConnectionAborted,
        ErrorCode::AddressInUse => io::ErrorKind::AddrInUse,
        ErrorCode::AddressNotBindable => io::ErrorKind::AddrNotAvailable,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{} ({})", code.message(), code.name()))
}

fn stream_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::ErrorKind::BrokenPipe.into(),
        StreamError::LastOperationFailed(e) => io::Error::other(e.to_debug_string()),
    }
}
