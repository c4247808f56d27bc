//! The bad-input table's machinery (tests/tests/bad_input.rs, and the backfill command's
//! cases in tests/tests/backfill.rs): each case's exact last line of standard error and exit
//! code, and its row in docs/errors.md.

use std::ffi::OsString;
use std::path::Path;

use crate::{conduit_command_under, exit_deadline, Running};

/// An environment variable no case sets (removed from the child's environment).
pub const UNSET: &str = "CONDUIT_E2E_UNSET_VARIABLE";

/// One row: a name (as in docs/errors.md), how to provoke it, and what must come out.
pub struct Case {
    pub name: &'static str,
    pub args: Vec<OsString>,
    pub env: Vec<(&'static str, String)>,
    /// The exact last non-empty line of standard error.
    pub line: String,
    pub code: i32,
    /// A program the binary runs under (e.g. `prlimit` with a limit); empty: none.
    pub under: Vec<&'static str>,
}

/// A case that fails with exit code 1.
pub fn case<A: Into<OsString>>(
    name: &'static str,
    args: impl IntoIterator<Item = A>,
    line: impl Into<String>,
) -> Case {
    Case {
        name,
        args: args.into_iter().map(Into::into).collect(),
        env: Vec::new(),
        line: line.into(),
        code: 1,
        under: Vec::new(),
    }
}

impl Case {
    /// Runs the binary under `prefix` (a program and its arguments).
    pub fn under(mut self, prefix: &[&'static str]) -> Case {
        self.under = prefix.to_vec();
        self
    }

    pub fn env(mut self, key: &'static str, value: impl Into<String>) -> Case {
        self.env.push((key, value.into()));
        self
    }
}

/// Runs every case and fails once, listing every row that did not come out as written.
pub async fn check_table(cases: Vec<Case>) {
    let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    let docs = std::fs::read_to_string(&docs_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", docs_path.display()));
    let mut failures = Vec::new();
    for c in cases {
        let mut cmd = conduit_command_under(&c.under, &c.args);
        cmd.env_remove(UNSET);
        for (k, v) in &c.env {
            cmd.env(k, v);
        }
        let f = Running::spawn(cmd).wait_exit(exit_deadline()).await;
        let last = f
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        if f.status.code() != Some(c.code) || last != c.line || f.stderr.contains("panicked at") {
            failures.push(format!(
                "case {:?}: {:?}\n  expected exit {} and last line:\n    {}\n  got {} and:\n    {}\n  \
                 stderr:\n{}",
                c.name, c.args, c.code, c.line, f.status, last, f.stderr
            ));
        }
        if !docs.contains(&format!("| {} |", c.name)) {
            failures.push(format!("case {:?} is not in docs/errors.md", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
