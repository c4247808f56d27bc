//! Named fault-injection points, for in-process tests that make the pipeline fail at a chosen
//! moment (a checkpoint write, the replication connection) without killing a process or cutting
//! a TCP connection.
//!
//! Compiled only for the crate's own tests or with the `failpoints` feature; otherwise
//! [`Failpoints`] is an empty type whose [`Failpoints::hit`] is a constant `false`, so the points
//! cost nothing in a release build. Each pipeline carries its own set (in its
//! [`super::PipelineConfig`]), so tests running side by side do not trip each other's points.

/// A checkpoint write fails (as a full or broken disk would) instead of storing positions.
pub const CHECKPOINT_WRITE: &str = "checkpoint.write";
/// Reading from the replication connection fails as if the connection was cut.
pub const SOURCE_RECV: &str = "source.recv";
/// A standby status update is lost on its way (or the walsender never gets to read it): the
/// server does not move the slot although we think we told it.
pub const STATUS_LOST: &str = "source.status_lost";

#[cfg(any(test, feature = "failpoints"))]
mod armed {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// How a point fails: after letting `skip` hits pass, the next `times` hits fail.
    #[derive(Debug, Clone, Copy)]
    struct Plan {
        skip: u64,
        times: u64,
    }

    #[derive(Debug, Clone, Default)]
    pub struct Failpoints {
        points: Arc<Mutex<HashMap<&'static str, Plan>>>,
    }

    impl Failpoints {
        /// Whether this hit of point `name` should fail.
        pub fn hit(&self, name: &'static str) -> bool {
            let mut points = self.points.lock().expect("failpoints lock");
            let Some(plan) = points.get_mut(name) else {
                return false;
            };
            if plan.skip > 0 {
                plan.skip -= 1;
                return false;
            }
            if plan.times == 0 {
                return false;
            }
            plan.times -= 1;
            true
        }

        /// Makes point `name` fail `times` times after letting `skip` hits pass.
        pub fn arm(&self, name: &'static str, skip: u64, times: u64) {
            let plan = Plan { skip, times };
            self.points
                .lock()
                .expect("failpoints lock")
                .insert(name, plan);
        }

        /// Failures of point `name` still to come.
        pub fn pending(&self, name: &'static str) -> u64 {
            let points = self.points.lock().expect("failpoints lock");
            points.get(name).map_or(0, |p| p.times)
        }
    }
}

#[cfg(any(test, feature = "failpoints"))]
pub use armed::Failpoints;

#[cfg(not(any(test, feature = "failpoints")))]
#[derive(Debug, Clone, Default)]
pub struct Failpoints {
    _inert: (),
}

#[cfg(not(any(test, feature = "failpoints")))]
impl Failpoints {
    #[inline(always)]
    pub fn hit(&self, _name: &'static str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_fails_only_where_armed() {
        let f = Failpoints::default();
        assert!(!f.hit(SOURCE_RECV), "unarmed points never fail");
        f.arm(SOURCE_RECV, 2, 1);
        assert_eq!(
            [
                f.hit(SOURCE_RECV),
                f.hit(SOURCE_RECV),
                f.hit(SOURCE_RECV),
                f.hit(SOURCE_RECV)
            ],
            [false, false, true, false]
        );
        assert_eq!(f.pending(SOURCE_RECV), 0);
        assert!(!f.hit(CHECKPOINT_WRITE));
    }
}
