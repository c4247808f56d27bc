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
