//! The usage-ingest service: consumes UsageEvents from `keyward.usage` (and `UsageService.Ingest`),
//! prices them once with the price book in force at their timestamp, and writes them exactly once
//! — events plus exact hourly/daily rollups in one transaction, acked only after the commit.

mod config;
mod consumer;
pub mod event;
mod grpc;
pub mod ingest;
pub mod maintenance;
mod metrics;
pub mod pricer;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use keyward_bus::{Broker, ConsumerOptions};
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_proto::v1::usage_service_server::UsageServiceServer;
use keyward_telemetry::{Host, Metrics, ServiceAuth};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

pub use config::Config;
pub use ingest::{IngestError, Ingestor, Outcome};
pub use metrics::IngestMetrics;

/// Migrations of the `usage` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/usage");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::UsageIngest;

/// Identities allowed to call this service's gRPC API.
pub const ALLOWED_CALLERS: &[&str] = &["api-gateway", "cost", "operator"];

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("usage-ingest configuration: {0}")]
    Config(String),
    #[error("price book: {0}")]
    Pricing(#[from] keyward_pricing::PricingError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Builds the ingestor over `pool` (used by `run`, tests and benches).
pub fn ingestor(
    pool: sqlx::PgPool,
    cfg: &Config,
    metrics: IngestMetrics,
) -> Result<Ingestor, Error> {
    let pricer = pricer::Pricer::new(keyward_pricing::PriceBook::builtin()?);
    Ok(Ingestor::new(
        store::Store::new(pool),
        pricer,
        cfg.retention_days,
        cfg.max_future_secs,
        metrics,
    ))
}

/// Runs the service until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    cfg.validate().map_err(Error::Config)?;
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    let broker = Broker::new(
        &platform.broker,
        "keyward-usage-ingest",
        vec![keyward_bus::topology::USAGE_INGEST],
    );
    host.readiness
        .add("database", keyward_db::check(pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });

    let ingest = Arc::new(ingestor(
        pool,
        cfg,
        IngestMetrics::new(Some(&host.metrics))?,
    )?);
    let opts = ConsumerOptions {
        prefetch: cfg.prefetch,
        batch_max: cfg.batch_max,
        batch_linger: Duration::from_millis(cfg.batch_linger_ms),
        ..ConsumerOptions::default()
    };
    for n in 0..cfg.consumers {
        let (i, b, o, t) = (
            ingest.clone(),
            broker.clone(),
            opts.clone(),
            host.shutdown(),
        );
        host.spawn(&format!("consumer-{n}"), async move {
            keyward_bus::consume(b, keyward_bus::topology::USAGE_INGEST, o, t, move |batch| {
                consumer::handle(i.clone(), batch)
            })
            .await
        });
    }
    let (i, t) = (ingest.clone(), host.shutdown());
    let interval = Duration::from_secs(cfg.maintenance_interval_secs.max(1));
    let (ahead, retention) = (cfg.partitions_ahead_days, cfg.retention_days);
    host.spawn("partitions", async move {
        maintenance::run(i, interval, ahead, retention, t).await
    });

    host.serve_ops(&cfg.http)?;
    let auth = ServiceAuth::new(&platform.internal, ALLOWED_CALLERS);
    let svc = UsageServiceServer::with_interceptor(grpc::UsageGrpc::new(ingest), auth);
    host.serve_grpc_tls(&cfg.grpc, platform.internal.tls.as_ref(), move |router| {
        router.add_service(svc)
    })
    .await?;
    tracing::info!(http = %cfg.http, grpc = %cfg.grpc, "usage-ingest started");
    host.wait().await?;
    Ok(())
}
