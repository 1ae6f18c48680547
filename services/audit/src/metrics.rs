//! Prometheus counters of the audit service (`keyward_audit_*`).

use keyward_telemetry::Metrics;
use prometheus::IntCounter;

use crate::store::Appended;

/// The service's own counters.
#[derive(Clone)]
pub struct AuditMetrics {
    pub appended: IntCounter,
    pub duplicates: IntCounter,
    pub rejected: IntCounter,
    pub checkpoints: IntCounter,
    pub pruned: IntCounter,
}

impl AuditMetrics {
    /// Creates the counters and registers them with `metrics` (a duplicate is logged there).
    pub fn new(metrics: &Metrics) -> Result<Self, prometheus::Error> {
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            metrics.register(Box::new(c.clone()));
            Ok(c)
        };
        Ok(Self {
            appended: counter(
                "keyward_audit_entries_appended_total",
                "audit entries appended to a chain",
            )?,
            duplicates: counter(
                "keyward_audit_events_duplicate_total",
                "audit events received again and skipped",
            )?,
            rejected: counter(
                "keyward_audit_events_rejected_total",
                "audit messages that could not be decoded or validated",
            )?,
            checkpoints: counter(
                "keyward_audit_checkpoints_signed_total",
                "chain checkpoints signed",
            )?,
            pruned: counter(
                "keyward_audit_entries_pruned_total",
                "audit entries deleted by retention",
            )?,
        })
    }

    /// Counts one appended batch.
    pub fn record(&self, a: &Appended) {
        self.appended.inc_by(a.appended);
        self.duplicates.inc_by(a.duplicates);
        self.checkpoints.inc_by(a.checkpoints);
    }
}
