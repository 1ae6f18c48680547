//! The vault service.

use keyward_bus::Broker;
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_telemetry::{Host, Metrics};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

/// Migrations of the `vault` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/vault");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::Vault;

/// Identities allowed to call this service's gRPC API.
pub const ALLOWED_CALLERS: &[&str] = &["api-gateway", "alert", "operator"];

/// `[vault]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `/livez`, `/readyz`, `/metrics`.
    pub http: String,
    /// gRPC listen address.
    pub grpc: String,
    /// How other services reach this one.
    pub grpc_url: String,
}

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
}

/// Runs the service until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    let broker = Broker::new(&platform.broker, "keyward-vault", Vec::new());
    host.readiness
        .add("database", keyward_db::check(pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });
    host.serve_ops(&cfg.http)?;
    host.serve_grpc_tls(&cfg.grpc, platform.internal.tls.as_ref(), |router| router)
        .await?;
    tracing::info!(http = %cfg.http, grpc = %cfg.grpc, "vault started");
    host.wait().await?;
    Ok(())
}
