//! Prometheus metrics of the alert service (`keyward_alert_*`), low-cardinality labels only.

use keyward_telemetry::Metrics;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

/// The service's own metrics.
#[derive(Clone)]
pub struct AlertMetrics {
    /// `keyward_alert_events_total{outcome}`: handled, duplicate, rejected.
    pub events: IntCounterVec,
    /// `keyward_alert_alerts_total{change}`: new, refired, folded, reopened, resolved, escalated.
    pub alerts: IntCounterVec,
    /// `keyward_alert_delivery_attempts_total{kind,outcome}`: delivered, retry, failed.
    pub attempts: IntCounterVec,
    /// `keyward_alert_delivery_latency_seconds`: queued → delivered, first attempts only.
    pub latency: Histogram,
}

impl AlertMetrics {
    /// Creates the metrics and registers them with `metrics`.
    pub fn new(metrics: &Metrics) -> Result<Self, prometheus::Error> {
        let events = IntCounterVec::new(
            Opts::new("keyward_alert_events_total", "domain events consumed"),
            &["outcome"],
        )?;
        let alerts = IntCounterVec::new(
            Opts::new("keyward_alert_alerts_total", "alert lifecycle changes"),
            &["change"],
        )?;
        let attempts = IntCounterVec::new(
            Opts::new(
                "keyward_alert_delivery_attempts_total",
                "notification delivery attempts",
            ),
            &["kind", "outcome"],
        )?;
        let latency = Histogram::with_opts(
            HistogramOpts::new(
                "keyward_alert_delivery_latency_seconds",
                "time from a notification being queued to its first successful delivery",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
        )?;
        metrics.register(Box::new(events.clone()));
        metrics.register(Box::new(alerts.clone()));
        metrics.register(Box::new(attempts.clone()));
        metrics.register(Box::new(latency.clone()));
        Ok(Self {
            events,
            alerts,
            attempts,
            latency,
        })
    }
}
