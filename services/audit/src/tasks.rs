//! The service's long-running tasks, each under the host's supervisor: the ingest consumer,
//! time-based checkpoints and retention. Database trouble is logged and retried, never fatal.

use std::convert::Infallible;
use std::time::Duration;

use keyward_bus::{Broker, ConsumerOptions, Handled, topology};
use keyward_core::settings::Platform;
use keyward_telemetry::Host;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::domain::Audit;

/// Spawns every task of the service on `host`.
pub(crate) fn spawn_all(
    host: &mut Host,
    audit: &Audit,
    broker: &Broker,
    platform: &Platform,
    cfg: &Config,
) {
    let batch_max = cfg.batch_max;
    let opts = ConsumerOptions {
        prefetch: platform
            .broker
            .prefetch
            .max(u16::try_from(batch_max).unwrap_or(u16::MAX)),
        batch_max,
        ..ConsumerOptions::default()
    };
    let (a, b, token) = (audit.clone(), broker.clone(), host.shutdown());
    host.spawn("ingest", async move {
        keyward_bus::consume(b, topology::AUDIT_INGEST, opts, token, move |batch| {
            let a = a.clone();
            async move { a.ingest(batch).await.map(|_| Handled::Commit) }
        })
        .await
    });

    if audit.signer().is_some() {
        let interval = Duration::from_secs(cfg.checkpoint_interval_secs);
        let (a, token) = (audit.clone(), host.shutdown());
        host.spawn("checkpoints", checkpoints(a, interval, token));
    }

    let days = i32::try_from(cfg.retention_days).unwrap_or(i32::MAX);
    let sweep = Duration::from_secs(cfg.retention_sweep_secs);
    let (a, token) = (audit.clone(), host.shutdown());
    host.spawn("retention", retention(a, days, sweep, token));
}

/// Signs every chain head that has new entries and no checkpoint for `interval`.
async fn checkpoints(
    audit: Audit,
    interval: Duration,
    token: CancellationToken,
) -> Result<(), Infallible> {
    let tick = (interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(10));
    let Some(signer) = audit.signer() else {
        return Ok(());
    };
    loop {
        tokio::select! {
            () = token.cancelled() => return Ok(()),
            () = tokio::time::sleep(tick) => {}
        }
        match audit.store().checkpoint_due(signer, interval).await {
            Ok(n) => audit.metrics().checkpoints.inc_by(n),
            Err(e) => tracing::warn!(error = %e, "time-based checkpoints failed; retrying"),
        }
    }
}

/// Records the default retention policy, then deletes what is past retention every `sweep`.
async fn retention(
    audit: Audit,
    default_days: i32,
    sweep: Duration,
    token: CancellationToken,
) -> Result<(), Infallible> {
    let retry = Duration::from_secs(5).min(sweep);
    loop {
        match audit.store().set_retention(None, default_days).await {
            Ok(()) => break,
            Err(e) => tracing::warn!(error = %e, "cannot record the default retention; retrying"),
        }
        tokio::select! {
            () = token.cancelled() => return Ok(()),
            () = tokio::time::sleep(retry) => {}
        }
    }
    loop {
        match audit.store().prune_expired().await {
            Ok(n) => audit.metrics().pruned.inc_by(n),
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; retrying next sweep"),
        }
        tokio::select! {
            () = token.cancelled() => return Ok(()),
            () = tokio::time::sleep(sweep) => {}
        }
    }
}
