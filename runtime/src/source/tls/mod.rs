//! TLS for both connections, decided in one place.
//!
//! The user's `sslmode` (and `sslrootcert`) become one [`TlsPolicy`] in
//! [`ConnInfo`](super::conninfo::ConnInfo). It holds the single rustls [`ClientConfig`](rustls::ClientConfig) that both
//! the ordinary SQL connection (tokio-postgres, through `tokio-postgres-rustls`) and our own
//! replication connection ([`super::wire`], through `tokio-rustls`) use, so the two can never
//! disagree about whether and how the server is verified.
//!
//! The modes follow libpq:
//!
//! | sslmode       | TLS                                   | certificate checked            |
//! |---------------|---------------------------------------|--------------------------------|
//! | `disable`     | never                                 | -                              |
//! | `allow`, `prefer` (default) | if the server offers it | only when `sslrootcert` is set |
//! | `require`     | always                                | only when `sslrootcert` is set (then like `verify-ca`) |
//! | `verify-ca`   | always                                | chain to `sslrootcert` or the system roots |
//! | `verify-full` | always                                | chain, and the host name       |
//!
//! `sslrootcert=system` means the operating system's trust store, and (as in libpq 16) implies
//! `verify-full`. TLS is never used over a Unix-domain socket (libpq does the same: the socket is
//! as trustworthy as the file system).
//!
//! The system roots come from `rustls-native-certs` (the OS store, `/etc/ssl/certs` on Linux,
//! honouring `SSL_CERT_FILE`/`SSL_CERT_DIR`), not a compiled-in Mozilla list: that is the store
//! libpq's `sslrootcert=system` uses, and it includes an organisation's private CAs, which is
//! where database certificates usually come from.
//!
//! SCRAM channel binding (`tls-server-end-point`, RFC 5929) is computed from the server's
//! certificate by [`tls_server_end_point`] for our connection and by `tokio-postgres-rustls` for
//! the SQL connection, and is used the way tokio-postgres does (`channel_binding=prefer` by
//! default, `require` and `disable` honoured).
//!
//! `policy` turns the URL's settings into the [`TlsPolicy`]; `config` builds the rustls
//! configuration it holds (trusted roots and certificate verifiers); `handshake` runs the
//! handshake for our replication connection and computes the channel-binding data; `errors`
//! turns a TLS failure on either connection into one line that says what to change.

mod config;
mod errors;
mod handshake;
mod policy;

pub use config::client_config;
pub use errors::{describe, find_rustls_error};
pub use handshake::{
    channel_binding_required, handshake, tls_server_end_point, Established, HandshakeError,
};
pub use policy::{RootCert, SslMode, TlsPolicy, Verification};
