//! The cost service: analytics over the usage rollups (breakdowns, time series, top-N,
//! forecast, recommendations, chargeback), budgets with exactly-once crossing events, and the
//! price book with org overrides.

pub mod analytics;
pub mod budgets;
mod config;
pub mod error;
mod grpc;
pub mod outbox;
pub mod prices;

use std::sync::Arc;
use std::time::Duration;

use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_proto::v1::cost_service_server::CostServiceServer;
use keyward_telemetry::{Host, Metrics, ServiceAuth};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

pub use config::Config;
pub use error::CostError;

/// Migrations of the `cost` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/cost");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::Cost;

/// Identities allowed to call this service's gRPC API.
pub const ALLOWED_CALLERS: &[&str] = &["api-gateway", "alert", "operator"];

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("price book: {0}")]
    Pricing(#[from] keyward_pricing::PricingError),
    #[error("spool: {0}")]
    Spool(#[from] std::io::Error),
}

/// Runs the service until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let book = Arc::new(keyward_pricing::PriceBook::builtin()?);
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    // JIT off for this service's sessions: its queries are short aggregations over the rollups,
    // but their cost estimates cross `jit_above_cost`, and compiling them costs more than running
    // them (EXPLAIN ANALYZE: ~190 ms of JIT per 30-day dashboard time series at 10M events; on a
    // synthetic 30-day set the split rollup query took 245–445 ms with JIT, 110–120 ms without).
    pool.set_connect_options((*pool.connect_options()).clone().options([("jit", "off")]));
    let broker = Broker::new(&platform.broker, "keyward-cost", Vec::new());
    host.readiness
        .add("database", keyward_db::check(pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });
    let spool = Spool::open(&platform.broker.spool_dir, "cost")?;
    let (publisher, publisher_task) = Publisher::new(
        broker.clone(),
        spool,
        PublisherOptions::default(),
        host.shutdown(),
    );
    host.spawn("publisher", publisher_task);

    let (p, t) = (pool.clone(), host.shutdown());
    let interval = Duration::from_millis(cfg.budget_interval_ms.max(50));
    let sweep = Duration::from_secs(cfg.budget_full_sweep_secs.max(1));
    host.spawn("budgets", async move {
        budgets::evaluate::run(p, interval, sweep, t).await
    });
    let (p, t) = (pool.clone(), host.shutdown());
    let relay = Duration::from_millis(cfg.outbox_interval_ms.max(10));
    host.spawn("outbox", async move {
        outbox::run(p, publisher, relay, t).await
    });

    host.serve_ops(&cfg.http)?;
    let svc = grpc::CostGrpc {
        analytics: analytics::Analytics::new(pool.clone()),
        budgets: budgets::Budgets::new(pool.clone()),
        prices: prices::Prices::new(pool, book),
    };
    let auth = ServiceAuth::new(&platform.internal, ALLOWED_CALLERS);
    let svc = CostServiceServer::with_interceptor(svc, auth);
    host.serve_grpc_tls(&cfg.grpc, platform.internal.tls.as_ref(), move |router| {
        router.add_service(svc)
    })
    .await?;
    tracing::info!(http = %cfg.http, grpc = %cfg.grpc, "cost started");
    host.wait().await?;
    Ok(())
}
