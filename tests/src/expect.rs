//! Expected error messages, and comparing outputs.

use crate::Finished;

/// What a failure's stderr must say: any one of `alternatives` matches when ALL of its
/// substrings appear, case-insensitively, on one line of stderr. (tests/tests/bad_input.rs
/// compares whole lines instead; see docs/errors.md.)
#[derive(Debug, Clone)]
pub struct Expect {
    pub problem: &'static str,
    pub alternatives: Vec<Vec<String>>,
}

impl Expect {
    /// Also accept a line containing `s`.
    pub fn or(mut self, s: impl Into<String>) -> Expect {
        self.alternatives.push(vec![s.into()]);
        self
    }

    /// The first stderr line that matches, if any.
    pub fn find<'a>(&self, stderr: &'a str) -> Option<&'a str> {
        stderr.lines().find(|line| {
            let l = line.to_lowercase();
            self.alternatives
                .iter()
                .any(|alt| alt.iter().all(|s| l.contains(&s.to_lowercase())))
        })
    }
}

impl Finished {
    /// Asserts the process failed (non-zero exit), did not panic, and said what `e` expects.
    pub fn assert_failed_with(&self, e: &Expect) {
        assert!(
            !self.status.success(),
            "expected conduit-wasm to fail ({}), but it exited {}\nstdout:\n{}\nstderr:\n{}",
            e.problem,
            self.status,
            self.stdout_text,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked at"),
            "conduit-wasm panicked instead of reporting {}:\n{}",
            e.problem,
            self.stderr
        );
        assert!(
            e.find(&self.stderr).is_some(),
            "stderr does not explain the problem ({}): expected a line containing {:?} \
             (case-insensitive)\nstderr:\n{}",
            e.problem,
            e.alternatives,
            self.stderr
        );
    }
}

/// The first line that differs between two outputs, for a readable failure.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        if e.get(i) != a.get(i) {
            return format!(
                "first difference at line {}:\n  expected: {}\n  actual:   {}\n({} expected lines, {} actual)",
                i + 1,
                e.get(i).unwrap_or(&"(none)"),
                a.get(i).unwrap_or(&"(none)"),
                e.len(),
                a.len()
            );
        }
    }
    "the lines are equal; the line endings differ".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_match_case_insensitively_on_one_line() {
        let e = Expect {
            problem: "wal_level is not logical",
            alternatives: vec![vec!["wal_level".into(), "logical".into()]],
        }
        .or("127.0.0.1:5999");
        assert!(e
            .find("info: starting\nerror: WAL_LEVEL must be LOGICAL: set it\n")
            .is_some());
        assert!(e.find("wal_level is replica\nneeds logical\n").is_none());
        assert!(e.find("error: 127.0.0.1:5999 refused").is_some());
        assert!(e.find("error: something else").is_none());
    }
}
