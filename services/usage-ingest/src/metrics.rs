//! `keyward_usage_ingest_*` metrics.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

use crate::ingest::Outcome;

/// Counters and the batch latency histogram.
#[derive(Clone)]
pub struct IngestMetrics {
    events: IntCounterVec,
    batch_seconds: Histogram,
}

impl IngestMetrics {
    /// Creates the metrics and registers them in `metrics` (unregistered when `None`, for tests).
    pub fn new(metrics: Option<&keyward_telemetry::Metrics>) -> Result<Self, prometheus::Error> {
        let events = IntCounterVec::new(
            Opts::new(
                "keyward_usage_ingest_events_total",
                "Usage events by outcome: inserted, duplicate or rejected",
            ),
            &["outcome"],
        )?;
        let batch_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "keyward_usage_ingest_batch_seconds",
                "Time to write one batch (COPY, insert, rollups, commit)",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
        )?;
        if let Some(m) = metrics {
            m.register(Box::new(events.clone()));
            m.register(Box::new(batch_seconds.clone()));
        }
        Ok(Self {
            events,
            batch_seconds,
        })
    }

    /// Records one committed batch.
    pub fn record(&self, o: Outcome, took: std::time::Duration) {
        self.events
            .with_label_values(&["inserted"])
            .inc_by(o.inserted);
        self.events
            .with_label_values(&["duplicate"])
            .inc_by(o.duplicates);
        self.events
            .with_label_values(&["rejected"])
            .inc_by(o.rejected);
        self.batch_seconds.observe(took.as_secs_f64());
    }
}
