//! Errors a user can act on.

/// A problem with the user's input or environment, phrased as one line that names what is wrong
/// and how to fix it. The CLI prints it as-is and exits non-zero; anything else that goes wrong is
/// a bug or a transient failure and keeps its full error chain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SetupError {
    message: String,
}

impl SetupError {
    pub fn new(message: impl Into<String>) -> SetupError {
        let message: String = message.into();
        // One line, always: a server message may carry a DETAIL or HINT on further lines.
        SetupError {
            message: message.replace('\n', " "),
        }
    }
}

/// A multi-tenant run that ended with tenants quarantined: every other tenant's changes were
/// delivered, but these tenants' changes wait in the slot, which an exit code 0 would hide from
/// whatever supervises the process. The CLI exits with [`Quarantined::EXIT_CODE`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Quarantined {
    message: String,
}

impl Quarantined {
    /// Distinct from 1 (bad input or a failure) and 2 (usage), so a supervisor can tell "some
    /// tenants need attention" from "the run could not go on".
    pub const EXIT_CODE: u8 = 3;

    /// `ids`: the quarantined tenants, `total`: all tenants, `slot`: the slot holding their
    /// changes.
    pub fn new(ids: &[&str], total: usize, slot: &str) -> Quarantined {
        const SHOWN: usize = 5;
        let mut named = ids
            .iter()
            .take(SHOWN)
            .map(|id| format!("{id:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        if ids.len() > SHOWN {
            named.push_str(&format!(" and {} more", ids.len() - SHOWN));
        }
        Quarantined {
            message: format!(
                "{} of {total} tenants ended quarantined ({named}): their changes wait in slot \
                 {slot:?}; the reasons are in the log and in `conduit-wasm status`; fix their \
                 sinks and run again",
                ids.len()
            ),
        }
    }
}
