//! Background work: the audit relay (outbox → `keyward.audit` with confirms) and the timers
//! (escalations, snooze expiry, pruning of old event ids).

use std::time::Duration;

use keyward_bus::Publisher;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::dispatch::Wake;
use crate::error::Result;
use crate::lifecycle;
use crate::metrics::AlertMetrics;
use crate::store::{alerts, outbox};

const AUDIT_BATCH: i64 = 256;

/// Publishes the audit outbox until `shutdown`. An entry is deleted only after the broker
/// confirmed it; while the broker is away entries wait in Postgres.
pub async fn audit_relay(
    pool: PgPool,
    publisher: Publisher,
    wake: Wake,
    shutdown: CancellationToken,
) -> std::result::Result<(), String> {
    loop {
        match relay_once(&pool, &publisher).await {
            Ok(n) if n as i64 >= AUDIT_BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "audit relay: will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = wake.audit.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Publishes one batch; returns how many entries were published.
pub async fn relay_once(pool: &PgPool, publisher: &Publisher) -> Result<usize> {
    let batch = outbox::peek_audit(pool, AUDIT_BATCH).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let sends = batch.iter().map(|(seq, ev)| async move {
        match ev {
            Some(ev) => publisher
                .audit_confirmed(ev)
                .await
                .map(|()| *seq)
                .map_err(|e| e.to_string()),
            None => {
                tracing::error!(seq, "undecodable audit outbox entry dropped");
                Ok(*seq)
            }
        }
    });
    let results = futures::future::join_all(sends).await;
    let done: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    outbox::delete_audit(pool, &done).await?;
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        return Err(crate::error::AlertError::Internal(format!(
            "audit publish: {e}"
        )));
    }
    Ok(done.len())
}

/// Escalations and snooze expiries on every tick, old event ids once an hour.
pub struct Timers {
    pub pool: PgPool,
    pub wake: Wake,
    pub metrics: AlertMetrics,
    pub max_attempts: i32,
    pub tick: Duration,
    pub event_retention_days: u32,
}

impl Timers {
    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> std::result::Result<(), String> {
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            match self.once().await {
                Ok(true) => self.wake.all(),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "alert timers: will retry"),
            }
            if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                let days = i32::try_from(self.event_retention_days).unwrap_or(i32::MAX);
                match outbox::prune_processed(&self.pool, days).await {
                    Ok(n) if n > 0 => tracing::info!(pruned = n, "old processed event ids pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning processed events failed"),
                }
                last_prune = Some(tokio::time::Instant::now());
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    /// One pass; `true` when something changed.
    pub async fn once(&self) -> Result<bool> {
        let mut changed = false;
        let mut tx = self.pool.begin().await?;
        for a in alerts::due_escalations(&mut tx, 100).await? {
            if lifecycle::escalate(&mut tx, a, self.max_attempts).await? {
                self.metrics.alerts.with_label_values(&["escalated"]).inc();
            }
            changed = true;
        }
        for a in alerts::due_unsnooze(&mut tx, 100).await? {
            lifecycle::unsnooze(&mut tx, a, self.max_attempts).await?;
            self.metrics.alerts.with_label_values(&["unsnoozed"]).inc();
            changed = true;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
