//! The one ingest path, shared by the queue consumer and `UsageService.Ingest`: check, price,
//! write in one transaction.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use keyward_core::ErrorCode;
use keyward_proto::v1::UsageEvent;

use crate::event::{self, EventRow, Window};
use crate::metrics::IngestMetrics;
use crate::pricer::Pricer;
use crate::store::{Rejection, Storage, Store, Written};

/// Events accepted by one `UsageService.Ingest` call, at most.
pub const MAX_EVENTS_PER_CALL: usize = 10_000;

/// Request-time errors.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("event {index}: {reason}")]
    Invalid { index: usize, reason: String },
    #[error("too many events in one call: {0} (at most {MAX_EVENTS_PER_CALL})")]
    TooMany(usize),
    #[error("database unavailable ({0})")]
    Db(String),
}

impl IngestError {
    /// The platform error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            IngestError::Invalid { .. } => ErrorCode::InvalidArgument,
            IngestError::TooMany(_) => ErrorCode::PayloadTooLarge,
            IngestError::Db(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<sqlx::Error> for IngestError {
    fn from(e: sqlx::Error) -> Self {
        IngestError::Db(keyward_db::describe(&e))
    }
}

/// What a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub inserted: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// Counters behind `UsageService.Health`.
#[derive(Default)]
pub struct Stats {
    pub inserted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    /// Newest committed event time, in Unix milliseconds (0: none yet).
    pub newest_ms: AtomicI64,
}

/// Ingests batches of usage events.
pub struct Ingestor {
    store: Store,
    pricer: Mutex<Pricer>,
    retention_days: u32,
    max_future: Duration,
    pub stats: Stats,
    metrics: IngestMetrics,
}

impl Ingestor {
    /// An ingestor over `store`, pricing with `pricer`.
    pub fn new(
        store: Store,
        pricer: Pricer,
        retention_days: u32,
        max_future_secs: u64,
        metrics: IngestMetrics,
    ) -> Self {
        Self {
            store,
            pricer: Mutex::new(pricer),
            retention_days,
            max_future: Duration::seconds(i64::try_from(max_future_secs).unwrap_or(300)),
            stats: Stats::default(),
            metrics,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The accepted time window right now: from the start of the oldest retained day.
    pub fn window(&self, now: DateTime<Utc>) -> Window {
        let today = now.date_naive();
        let oldest_day = today - Duration::days(i64::from(self.retention_days));
        Window {
            oldest: oldest_day.and_time(chrono::NaiveTime::MIN).and_utc(),
            newest: now + self.max_future,
        }
    }

    /// Checks an event without storing it.
    pub fn check(&self, ev: &UsageEvent) -> Result<EventRow, event::Invalid> {
        event::parse(ev, self.window(Utc::now()))
    }

    /// The gRPC path: all or nothing — one invalid event rejects the call and stores nothing.
    pub async fn ingest_call(&self, events: &[UsageEvent]) -> Result<Outcome, IngestError> {
        if events.len() > MAX_EVENTS_PER_CALL {
            return Err(IngestError::TooMany(events.len()));
        }
        let window = self.window(Utc::now());
        let rows = events
            .iter()
            .enumerate()
            .map(|(index, ev)| {
                event::parse(ev, window).map_err(|e| IngestError::Invalid { index, reason: e.0 })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write(rows, Vec::new()).await
    }

    /// Writes checked rows and quarantines rejected messages, in one transaction. Safe to repeat
    /// with the same events: duplicates are skipped and never rolled up twice.
    pub async fn write(
        &self,
        mut rows: Vec<EventRow>,
        rejected: Vec<Rejection>,
    ) -> Result<Outcome, IngestError> {
        let started = std::time::Instant::now();
        let days: BTreeSet<NaiveDate> = rows.iter().map(|r| r.ts.date_naive()).collect();
        self.store.ensure_partitions(&days).await?;
        let mut batch = self.store.begin().await?;
        if let Some(version) = batch.override_version().await? {
            let stale = self.lock_pricer()?.version() != Some(version);
            if stale {
                let overrides = batch.overrides().await?;
                self.lock_pricer()?.load(version, overrides);
            }
        }
        self.lock_pricer()?.price(&mut rows);
        let Written { inserted, newest } = batch.write(&rows).await?;
        batch.reject(&rejected).await?;
        batch.commit().await?;

        let total = u64::try_from(rows.len()).unwrap_or(0);
        let outcome = Outcome {
            inserted,
            duplicates: total.saturating_sub(inserted),
            rejected: u64::try_from(rejected.len()).unwrap_or(0),
        };
        self.record(outcome, newest, started.elapsed());
        Ok(outcome)
    }

    fn lock_pricer(&self) -> Result<std::sync::MutexGuard<'_, Pricer>, IngestError> {
        self.pricer
            .lock()
            .map_err(|_| IngestError::Db("pricer lock poisoned".into()))
    }

    fn record(&self, o: Outcome, newest: Option<DateTime<Utc>>, took: std::time::Duration) {
        self.stats.inserted.fetch_add(o.inserted, Ordering::Relaxed);
        self.stats
            .duplicates
            .fetch_add(o.duplicates, Ordering::Relaxed);
        self.stats.rejected.fetch_add(o.rejected, Ordering::Relaxed);
        if let Some(newest) = newest {
            self.stats
                .newest_ms
                .fetch_max(newest.timestamp_millis(), Ordering::Relaxed);
        }
        self.metrics.record(o, took);
    }

    /// `UsageService.Health`: lag of the newest committed event, totals, storage kind.
    pub async fn health(&self) -> (u64, u64, bool, u64) {
        let newest = self.stats.newest_ms.load(Ordering::Relaxed);
        let lag = if newest == 0 {
            0
        } else {
            u64::try_from(Utc::now().timestamp_millis() - newest).unwrap_or(0)
        };
        let timescale = matches!(self.store.storage().await, Ok(Storage::Timescale));
        (
            lag,
            self.stats.inserted.load(Ordering::Relaxed),
            timescale,
            self.stats.rejected.load(Ordering::Relaxed),
        )
    }
}
