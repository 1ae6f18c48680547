//! Delivery of queued notifications: claim due deliveries, send each over its channel, log the
//! attempt, retry with exponential backoff and jitter, and mark the delivery failed at the end.

pub mod render;
pub mod secrets;
pub mod send;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt as _;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::audit::{self, Change, Who};
use crate::config::{Config, RetryPolicy};
use crate::error::AlertError;
use crate::metrics::AlertMetrics;
use crate::model::{Delivery, Reason};
use crate::store::deliveries::{self, Outcome};
use crate::store::{channels, outbox};
use secrets::Secrets;
use send::{Failure, Transport};

/// Wakes the delivery and audit workers right after a commit that gave them work.
#[derive(Clone, Default)]
pub struct Wake {
    pub deliveries: Arc<Notify>,
    pub audit: Arc<Notify>,
}

impl Wake {
    /// Both workers.
    pub fn all(&self) {
        self.deliveries.notify_one();
        self.audit.notify_one();
    }
}

/// Sends deliveries.
pub struct Dispatcher {
    pub pool: PgPool,
    pub secrets: Secrets,
    pub transport: Transport,
    pub retry: RetryPolicy,
    pub concurrency: usize,
    pub tick: Duration,
    /// How long a claimed delivery is left alone by other workers.
    pub lease: chrono::Duration,
    pub wake: Wake,
    pub metrics: AlertMetrics,
}

impl Dispatcher {
    /// A dispatcher configured by `cfg`.
    pub fn new(
        pool: PgPool,
        secrets: Secrets,
        cfg: &Config,
        wake: Wake,
        metrics: AlertMetrics,
    ) -> Result<Self, String> {
        let transport = Transport::new(
            Duration::from_millis(cfg.http_timeout_ms),
            Duration::from_millis(cfg.smtp_timeout_ms),
            cfg.allow_private_targets,
        )?;
        let longest = cfg
            .http_timeout_ms
            .max(cfg.smtp_timeout_ms)
            .saturating_add(30_000);
        Ok(Self {
            pool,
            secrets,
            transport,
            retry: cfg.retry.clone(),
            concurrency: cfg.delivery_concurrency,
            tick: Duration::from_millis(cfg.tick_ms),
            lease: chrono::Duration::milliseconds(i64::try_from(longest).unwrap_or(i64::MAX)),
            wake,
            metrics,
        })
    }

    /// Runs until `shutdown`: on every wake-up and every tick, sends what is due.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> Result<(), String> {
        loop {
            loop {
                match self.dispatch_due().await {
                    Ok(n) if n >= self.batch() => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming deliveries failed");
                        break;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.wake.deliveries.notified() => {}
                () = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    fn batch(&self) -> usize {
        self.concurrency.saturating_mul(4)
    }

    /// Claims and sends one batch of due deliveries; returns how many were claimed.
    pub async fn dispatch_due(&self) -> Result<usize, AlertError> {
        let limit = i64::try_from(self.batch()).unwrap_or(64);
        let claimed = deliveries::claim_due(&self.pool, limit, self.lease).await?;
        let n = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(self.concurrency, |d| async move {
                self.attempt(d).await;
            })
            .await;
        Ok(n)
    }

    /// One attempt of a claimed delivery, logged; returns its outcome.
    pub async fn attempt(&self, d: Delivery) -> Outcome {
        let started = Utc::now();
        let clock = std::time::Instant::now();
        let result = self.send(&d).await;
        let duration_ms = i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX);
        let outcome = match result {
            Ok(status) => Outcome {
                started_at: started,
                duration_ms,
                http_status: i32::from(status),
                error: String::new(),
                retry: None,
            },
            Err(f) => {
                let retry = (f.retryable && d.attempts < d.max_attempts).then(|| {
                    let attempt = u32::try_from(d.attempts).unwrap_or(1);
                    let mut wait = self.retry.delay(attempt, rand::random::<f64>());
                    if let Some(after) = f.retry_after {
                        wait = wait.max(after.min(Duration::from_millis(self.retry.max_ms)));
                    }
                    Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
                });
                Outcome {
                    started_at: started,
                    duration_ms,
                    http_status: f.http_status.map_or(0, i32::from),
                    error: f.message,
                    retry: Some(retry),
                }
            }
        };
        if let Err(e) = self.record(&d, &outcome).await {
            // The lease runs out and the delivery is attempted again: at least once, never lost.
            tracing::warn!(delivery = %d.id, error = %e, "recording a delivery attempt failed");
        }
        self.metrics
            .attempts
            .with_label_values(&[d.channel_kind.as_str(), outcome.name()])
            .inc();
        if outcome.retry.is_none() && d.attempts == 1 {
            let waited = (Utc::now() - d.created_at).to_std().unwrap_or_default();
            self.metrics.latency.observe(waited.as_secs_f64());
        }
        outcome
    }

    async fn send(&self, d: &Delivery) -> Result<u16, Failure> {
        let permanent = |m: &str| Failure {
            message: m.to_string(),
            ..Failure::default()
        };
        let ch = channels::get(&self.pool, d.org_id, d.channel_id)
            .await
            .map_err(|e| Failure {
                message: e.to_string(),
                retryable: true,
                ..Failure::default()
            })?
            .ok_or_else(|| permanent("the channel was deleted"))?;
        if !ch.enabled {
            return Err(permanent("the channel is disabled"));
        }
        let key = ch
            .secret_ref
            .ok_or_else(|| permanent("the channel has no secrets"))?;
        let secrets = self
            .secrets
            .resolve(d.org_id, key, ch.kind)
            .await
            .map_err(|e| Failure {
                message: keyward_crypto::redact(&e.to_string()).into_owned(),
                retryable: !matches!(e, AlertError::Precondition(_) | AlertError::Invalid(_)),
                ..Failure::default()
            })?;
        self.transport.send(&ch, &secrets, d.id, &d.payload).await
    }

    async fn record(&self, d: &Delivery, o: &Outcome) -> Result<(), AlertError> {
        let mut tx = self.pool.begin().await?;
        if !deliveries::finish_attempt(&mut tx, d.id, d.attempts, o).await? {
            return Ok(());
        }
        let last = !matches!(o.retry, Some(Some(_)));
        if last && d.reason != Reason::Test {
            let action = format!("alert_delivery.{}", o.name());
            let ev = audit::event(
                &Who::system(),
                Change {
                    org_id: &d.org_id.to_string(),
                    action: &action,
                    resource_type: "alert_delivery",
                    resource_id: &d.id.to_string(),
                    reason: &o.error,
                    before: None,
                    after: Some(json!({
                        "alert_id": d.alert_id, "channel_id": d.channel_id,
                        "channel_kind": d.channel_kind.as_str(), "reason": d.reason.as_str(),
                        "attempts": d.attempts, "http_status": o.http_status,
                    })),
                },
            );
            outbox::push_audit(&mut tx, &ev).await?;
        }
        tx.commit().await?;
        if last {
            self.wake.audit.notify_one();
        }
        Ok(())
    }
}
