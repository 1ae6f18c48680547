//! The alert service: domain events and periodic rules become alerts; alerts become signed
//! webhook, Slack, e-mail and PagerDuty notifications, deduplicated, retried, escalated and
//! audited (docs/alerts.md).
//!
//! Flow: `consumer` (events) and `periodic` (usage) → `lifecycle` (one transaction: the alert,
//! its queued deliveries and its audit events) → `dispatch` (send, retry, log) and `workers`
//! (audit relay, escalations, snoozes). `api` + `grpc` serve `keyward.v1.AlertService`.

mod api;
mod audit;
mod channel_spec;
mod conditions;
mod config;
mod consumer;
mod convert;
mod defaults;
pub mod dispatch;
mod error;
mod grpc;
mod lifecycle;
mod matcher;
mod metrics;
pub mod model;
pub mod periodic;
mod store;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use keyward_bus::{Broker, ConsumerOptions, Message, Publisher, PublisherOptions, Spool, topology};
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_proto::v1::alert_service_server::AlertServiceServer;
use keyward_telemetry::{Host, Metrics, ServiceAuth};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

pub use config::{Config, RetryPolicy};
pub use dispatch::webhook;
pub use error::AlertError;
pub use periodic::{MemoryCall, MemorySource, MetricsSource, PgSource};

/// Migrations of the `alert` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/alert");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::Alert;

/// Identities allowed to call this service's gRPC API.
pub const ALLOWED_CALLERS: &[&str] = &["api-gateway", "operator"];

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("alert configuration: {0}")]
    Config(String),
    #[error("spool: {0}")]
    Spool(#[from] std::io::Error),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Runs the service until `shutdown`; periodic rules read the usage tables in Postgres.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    run_with(platform, cfg, metrics, shutdown, None).await
}

/// Like [`run`], with periodic rules reading `source` when given.
pub async fn run_with(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
    source: Option<Arc<dyn MetricsSource>>,
) -> Result<(), Error> {
    cfg.validate().map_err(Error::Config)?;
    let alert_metrics = metrics::AlertMetrics::new(&metrics)?;
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    let broker = Broker::new(
        &platform.broker,
        "keyward-alert",
        vec![topology::ALERT_EVENTS],
    );
    host.readiness
        .add("database", keyward_db::check(pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });
    let spool = Spool::open(&platform.broker.spool_dir, "alert")?;
    let (publisher, publisher_task) = Publisher::new(
        broker.clone(),
        spool,
        PublisherOptions::default(),
        host.shutdown(),
    );
    host.spawn("publisher", publisher_task);

    let secrets =
        dispatch::secrets::Secrets::new(platform, Duration::from_secs(cfg.secret_cache_secs))
            .map_err(Error::Config)?;
    let wake = dispatch::Wake::default();
    let max_attempts = i32::try_from(cfg.retry.max_attempts).unwrap_or(i32::MAX);
    let dispatcher = Arc::new(
        dispatch::Dispatcher::new(
            pool.clone(),
            secrets.clone(),
            cfg,
            wake.clone(),
            alert_metrics.clone(),
        )
        .map_err(Error::Config)?,
    );

    let handler = consumer::EventHandler {
        pool: pool.clone(),
        wake: wake.clone(),
        metrics: alert_metrics.clone(),
        max_attempts,
    };
    // Notifications are latency-bound: a short linger still batches a burst into one commit.
    let opts = ConsumerOptions {
        prefetch: platform.broker.prefetch,
        batch_linger: Duration::from_millis(2),
        ..ConsumerOptions::default()
    };
    let token = host.shutdown();
    host.spawn("events", async move {
        keyward_bus::consume(
            broker,
            topology::ALERT_EVENTS,
            opts,
            token,
            move |batch: Vec<Message>| {
                let h = handler.clone();
                async move { h.handle(batch).await }
            },
        )
        .await
    });
    let (d, token) = (dispatcher.clone(), host.shutdown());
    host.spawn("dispatcher", async move { d.run(token).await });
    let (p, w, token) = (pool.clone(), wake.clone(), host.shutdown());
    host.spawn("audit-relay", async move {
        workers::audit_relay(p, publisher, w, token).await
    });
    let timers = workers::Timers {
        pool: pool.clone(),
        wake: wake.clone(),
        metrics: alert_metrics.clone(),
        max_attempts,
        tick: Duration::from_millis(cfg.tick_ms),
        event_retention_days: cfg.event_retention_days,
    };
    let token = host.shutdown();
    host.spawn("timers", async move { timers.run(token).await });
    let evaluator = periodic::Evaluator {
        pool: pool.clone(),
        source: source.unwrap_or_else(|| Arc::new(PgSource::new(pool.clone()))),
        interval: Duration::from_secs(cfg.evaluate_interval_secs),
        wake: wake.clone(),
        metrics: alert_metrics,
        max_attempts,
    };
    let token = host.shutdown();
    host.spawn("periodic-rules", async move { evaluator.run(token).await });

    host.serve_ops(&cfg.http)?;
    let api = Arc::new(api::Api {
        pool,
        secrets,
        dispatcher,
        wake,
        max_attempts,
    });
    let auth = ServiceAuth::new(&platform.internal, ALLOWED_CALLERS);
    let svc = AlertServiceServer::with_interceptor(grpc::AlertGrpc::new(api), auth);
    host.serve_grpc_tls(&cfg.grpc, platform.internal.tls.as_ref(), move |router| {
        router.add_service(svc)
    })
    .await?;
    tracing::info!(http = %cfg.http, grpc = %cfg.grpc, "alert started");
    host.wait().await?;
    Ok(())
}
