//! The versions of the sink contract (`wit/`) this runtime hosts, and which one a component was
//! built against.
//!
//! A component says which version it implements by the name of the interface it exports
//! (`conduit:sink/sink@0.2.0`). The runtime hosts the current version and, without a rebuild,
//! components built against 0.1.0: those receive snapshot reads as inserts ([`super::v0_1`]).

use std::fmt;

use wasmtime::component::Component;

/// A version of the sink contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `conduit:sink@0.1.0`: no `read` operation.
    V0_1,
    /// `conduit:sink@0.2.0`, the current version (`wit/sink.wit`): adds `read`.
    V0_2,
}

impl Contract {
    /// The version new sinks are built against.
    pub const CURRENT: Contract = Contract::V0_2;
    /// Every version this runtime hosts, newest first (the order a component's exports are tried
    /// in).
    pub const HOSTED: [Contract; 2] = [Contract::V0_2, Contract::V0_1];
    /// How a sink interface's name starts, whatever its version.
    pub const INTERFACE_PREFIX: &'static str = "conduit:sink/sink@";

    /// `"0.2.0"`.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }

    /// The interface a component built against this version exports.
    pub fn interface(self) -> &'static str {
        match self {
            Contract::V0_1 => "conduit:sink/sink@0.1.0",
            Contract::V0_2 => super::bindings::SINK_INTERFACE,
        }
    }

    /// The newest hosted version whose sink interface the component exports.
    pub fn of(component: &Component) -> Option<Contract> {
        Contract::HOSTED
            .into_iter()
            .find(|c| component.get_export_index(None, c.interface()).is_some())
    }

    /// The hosted versions, for messages: `"0.2.0 and 0.1.0"`.
    pub fn hosted_list() -> String {
        let versions: Vec<&str> = Contract::HOSTED.iter().map(|c| c.version()).collect();
        versions.join(" and ")
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conduit:sink@{}", self.version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(Contract::CURRENT, Contract::V0_2);
        assert_eq!(Contract::V0_2.interface(), "conduit:sink/sink@0.2.0");
        assert_eq!(Contract::V0_1.interface(), "conduit:sink/sink@0.1.0");
        assert_eq!(Contract::V0_1.to_string(), "conduit:sink@0.1.0");
        assert_eq!(Contract::hosted_list(), "0.2.0 and 0.1.0");
        for c in Contract::HOSTED {
            assert!(c.interface().starts_with(Contract::INTERFACE_PREFIX));
            assert!(c.interface().ends_with(c.version()));
        }
    }

    /// The version the current WIT declares is the one the runtime calls current.
    #[test]
    fn current_matches_wit() {
        let wit = include_str!("../../../wit/sink.wit");
        let line = format!("package conduit:sink@{};", Contract::CURRENT.version());
        assert!(wit.lines().any(|l| l.trim() == line), "{line}");
        let old = include_str!("../../../wit/v0.1.0/sink.wit");
        assert!(old
            .lines()
            .any(|l| l.trim() == "package conduit:sink@0.1.0;"));
    }
}
