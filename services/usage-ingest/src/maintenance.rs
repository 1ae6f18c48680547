//! Partition maintenance on plain PostgreSQL: daily partitions are created `ahead` days in
//! advance and dropped once wholly past retention. On TimescaleDB the extension's compression
//! and retention policies do this, so the task only logs the storage kind.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use crate::ingest::Ingestor;
use crate::store::{Storage, partitions};

/// What one maintenance pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub created: Vec<NaiveDate>,
    pub dropped: Vec<NaiveDate>,
}

/// One pass as of `today`: ensure `[today - 1, today + ahead]`, drop days before
/// `today - retention_days` (the oldest day ingest still accepts is kept).
pub async fn pass(
    ingestor: &Ingestor,
    today: NaiveDate,
    ahead: u32,
    retention_days: u32,
) -> Result<Pass, sqlx::Error> {
    let store = ingestor.store();
    if store.storage().await? == Storage::Timescale {
        return Ok(Pass::default());
    }
    let existing = partitions::existing(store.pool()).await?;
    let first = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let wanted: std::collections::BTreeSet<NaiveDate> = first
        .iter_days()
        .take(usize::try_from(ahead).unwrap_or(7) + 2)
        .collect();
    let mut out = Pass::default();
    for day in wanted.iter().filter(|d| !existing.contains(d)) {
        partitions::create(store.pool(), *day).await?;
        out.created.push(*day);
    }
    store.ensure_partitions(&wanted).await?;
    let cutoff = today
        .checked_sub_days(Days::new(u64::from(retention_days)))
        .unwrap_or(today);
    for day in existing.into_iter().filter(|d| *d < cutoff) {
        partitions::drop(store.pool(), day).await?;
        store.forget_partition(day);
        out.dropped.push(day);
    }
    Ok(out)
}

/// Runs a pass now and every `interval` until `shutdown`. A failed pass (database down) is
/// logged and retried at the next tick; ingest creates missing partitions on demand anyway.
pub async fn run(
    ingestor: Arc<Ingestor>,
    interval: Duration,
    ahead: u32,
    retention_days: u32,
    shutdown: CancellationToken,
) -> Result<(), std::convert::Infallible> {
    loop {
        match pass(&ingestor, Utc::now().date_naive(), ahead, retention_days).await {
            Ok(p) if !p.created.is_empty() || !p.dropped.is_empty() => {
                tracing::info!(
                    created = p.created.len(),
                    dropped = p.dropped.len(),
                    "usage partitions maintained"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %keyward_db::describe(&e), "usage partition maintenance failed");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}
