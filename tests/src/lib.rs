//! Helpers for conduit-wasm's end-to-end tests.
//!
//! Every test starts its own PostgreSQL through [`conduit_wasm::scratch`] (the same code the
//! product uses), drives the real `conduit-wasm` binary as a child process and reads what the
//! `stdout-json` example sink prints. Nothing here sleeps to synchronise: every wait is for a
//! condition, with a deadline ([`eventually`]), and a missed deadline fails the test with what
//! was seen so far (lines received and the process's stderr).
//!
//! Where things are:
//! - the binary: `$CONDUIT_WASM_BIN`, else `<target>/debug/conduit-wasm`;
//! - the example sinks: `$CONDUIT_SINKS_DIR`, else `<target>/sinks`;
//!
//! where `<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/`. `cargo xtask test`
//! builds both and sets the variables.
//!
//! The modules, by job (everything is re-exported here, so `use conduit_e2e::*;` is enough):
//! - [`wait`]: deadlines and [`eventually`], the one way to wait for something;
//! - [`sinks`]: where the binary and the example sinks are;
//! - [`cluster`]: a scratch PostgreSQL, SQL, slots;
//! - [`fixture`]: [`Fixture`], a test's cluster, client and state directory;
//! - [`run`]: the `conduit-wasm` command lines ([`RunConfig`], `--config` runs, `check`);
//! - [`process`]: a running `conduit-wasm` ([`Running`]) and how it ended ([`Finished`]);
//! - [`lines`]: reading the `stdout-json` sink's JSON lines;
//! - [`tenants`]: multi-tenant configuration files ([`Tenant`], [`TenantsFile`]);
//! - [`log`]: `--log-format json` standard error ([`LogLine`]);
//! - [`metrics`]: the metrics endpoint: HTTP GETs and parsed scrapes;
//! - [`status`]: the status file and `conduit-wasm status`;
//! - [`expect`]: expected error messages ([`Expect`]);
//! - [`chaos`], [`proxy`], [`redis`], [`nats`], [`kafka`]: what the crash, fault and broker tests share (not
//!   re-exported).

pub mod bad_input;
pub mod chaos;
pub mod cluster;
pub mod expect;
pub mod fixture;
pub mod kafka;
pub mod lines;
pub mod log;
pub mod metrics;
pub mod nats;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod run;
pub mod sinks;
pub mod status;
pub mod tenants;
pub mod types;
pub mod wait;

pub use cluster::*;
pub use expect::*;
pub use fixture::*;
pub use lines::*;
pub use log::*;
pub use metrics::*;
pub use process::*;
pub use run::*;
pub use sinks::*;
pub use status::*;
pub use tenants::*;
pub use types::*;
pub use wait::*;

/// A WAL position: the runtime's own type (`X/X` when printed and parsed).
pub use conduit_wasm::event::Lsn;
pub use conduit_wasm::scratch::{ScratchAuth, ScratchCluster, ScratchOptions, ShutdownMode};
pub use serde_json::{json, Value};
pub use tokio_postgres::Client;

#[cfg(test)]
mod tests {
    use super::*;

    /// What the tests expect of the runtime's LSN parser (they compare and print LSNs).
    #[test]
    fn lsn_parse_and_print() {
        assert_eq!("16/B374D848".parse::<Lsn>(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!("0/0".parse::<Lsn>(), Ok(Lsn(0)));
        assert_eq!("FFFFFFFF/FFFFFFFF".parse::<Lsn>(), Ok(Lsn(u64::MAX)));
        assert!("16B374D848".parse::<Lsn>().is_err());
        assert!("/1".parse::<Lsn>().is_err());
        assert!("1/".parse::<Lsn>().is_err());
        assert!("1/123456789".parse::<Lsn>().is_err());
        assert!("x/1".parse::<Lsn>().is_err());
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert!("0/1511B48".parse::<Lsn>().unwrap() < "1/0".parse::<Lsn>().unwrap());
    }
}
