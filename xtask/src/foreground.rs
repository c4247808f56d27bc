//! Running a long-lived child in the foreground of a terminal (`cargo xtask demo`).
//!
//! Ctrl-C sends SIGINT to the whole foreground process group: to `conduit-wasm`, which stops in
//! order (the last position confirmed, the sinks closed) and exits 0, and to this process. Were
//! we to die of it, the shell would report 130 and print its prompt while the child is still
//! finishing. So this process ignores SIGINT while the child runs (the child gets the default
//! back before it starts) and exits with the child's status.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};

use crate::Result;

/// Runs `cmd` to its end with SIGINT ignored here; returns its status.
pub(crate) fn run_in_foreground(cmd: &mut Command) -> Result<ExitStatus> {
    // Ignored before the child exists, so there is no moment in which a Ctrl-C kills us; the
    // child restores the default before it execs (an ignored signal would stay ignored).
    let previous = unsafe { sys::signal(sys::SIGINT, sys::SIG_IGN) };
    unsafe {
        cmd.pre_exec(|| {
            sys::signal(sys::SIGINT, sys::SIG_DFL);
            Ok(())
        });
    }
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {:?}: {e}", cmd.get_program()));
    unsafe {
        sys::signal(sys::SIGINT, previous);
    }
    status
}

mod sys {
    use std::os::raw::c_int;

    pub const SIGINT: c_int = 2;
    pub const SIG_DFL: usize = 0;
    pub const SIG_IGN: usize = 1;

    extern "C" {
        pub fn signal(signum: c_int, handler: usize) -> usize;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_ctrl_c_for_the_group_leaves_us_running_and_the_child_decides() {
        // The child sends SIGINT to us (its parent), as a terminal would to the whole group,
        // then exits 0: we must survive it and report the child's success. Without the
        // ignore, SIGINT's default action ends this whole test binary.
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "kill -INT $PPID; exit 0"]);
        let status = super::run_in_foreground(&mut cmd).expect("sh runs");
        assert!(status.success(), "{status}");
        // And the child itself still dies of SIGINT (the default is restored in it).
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "kill -INT $$; sleep 5"]);
        let status = super::run_in_foreground(&mut cmd).expect("sh runs");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(2),
            "{status}"
        );
    }
}
