//! What a tenant reports of itself: its line of the status file, and the lag warning.

use std::time::Instant;

use super::*;

impl Tenant {
    /// Warns (at most once a minute) when this tenant holds back more than `limit` bytes of WAL
    /// behind `received`.
    pub fn warn_lag(&mut self, received: Lsn, floor: Lsn, limit: u64) {
        let lag = received.0.saturating_sub(self.durable.lsn.max(floor).0);
        let recently = self
            .lag_warned
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60));
        if lag > limit && !recently {
            tracing::warn!(
                tenant = %self.id,
                "tenant holds back {} MiB of WAL (position {}, server at {received}): the slot \
                 cannot advance past it",
                lag >> 20,
                self.durable.lsn,
            );
            self.lag_warned = Some(Instant::now());
        }
    }

    /// This tenant's line of the status file (lag from `floor` for a tenant that has none yet).
    pub fn status(&self, received: Lsn, floor: Lsn) -> TenantStatus {
        let (state, reason) = match &self.state {
            TenantState::Active => ("active", None),
            TenantState::Quarantined { reason } => ("quarantined", Some(reason.clone())),
        };
        TenantStatus {
            id: self.id.to_string(),
            state: state.into(),
            reason,
            position_lsn: self.durable.lsn.to_string(),
            queued_changes: self.queued_changes(),
            spilled_changes: self.spilled_changes(),
            delivered_changes: self.stats.delivered_changes,
            delivered_batches: self.stats.delivered_batches,
            lag_bytes: received.0.saturating_sub(self.durable.lsn.max(floor).0),
            in_flight_changes: self.in_flight.as_ref().map_or(0, |f| f.changes),
            backlog_bytes: self.backlog.as_ref().map_or(0, Backlog::bytes),
            oldest_pending_us: (self.in_flight.as_ref().map(|f| f.oldest))
                .or_else(|| self.batcher.oldest_commit_time()),
            ..Default::default()
        }
    }
}
