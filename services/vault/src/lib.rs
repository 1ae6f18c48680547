//! The vault: provider keys and other secrets sealed with envelope encryption, their lifecycle,
//! `Resolve` for the gateway (fail-closed audited), monitoring, and encrypted backup.

mod audit;
mod backup;
mod config;
mod domain;
mod grpc;
mod kek;
mod monitor;
mod policy;
mod secret;
mod store;

use std::sync::Arc;

use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_proto::v1::vault_service_server::VaultServiceServer;
use keyward_telemetry::{Host, Metrics, ServiceAuth};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

pub use config::{AnomalyThresholds, Config};
pub use domain::{Vault, VaultError};
pub use kek::Keys;

/// Migrations of the `vault` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/vault");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::Vault;

/// Identities allowed to call the vault's gRPC API.
pub const ALLOWED_CALLERS: &[&str] = &["api-gateway", "alert", "operator"];

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("vault configuration: {0}")]
    Config(String),
    #[error("spool: {0}")]
    Spool(#[from] std::io::Error),
}

/// Runs the vault until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let keys = Keys::from_config(cfg).map_err(Error::Config)?;
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    let broker = Broker::new(&platform.broker, "keyward-vault", Vec::new());
    host.readiness
        .add("database", keyward_db::check(pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });
    let spool = Spool::open(&platform.broker.spool_dir, "vault")?;
    let (publisher, publisher_task) = Publisher::new(
        broker.clone(),
        spool,
        PublisherOptions::default(),
        host.shutdown(),
    );
    host.spawn("publisher", publisher_task);

    let vault = Arc::new(
        Vault::new(pool, keys, publisher, cfg.clone()).map_err(|e| Error::Config(e.to_string()))?,
    );
    // KEK versions are registered (and checked against the stored fingerprints) once the
    // database is reachable; until then /readyz reports `kek` missing (a Store before it would
    // find no KEK row to count its wrap against).
    let registered = vault.keks_registered.clone();
    host.readiness.add("kek", move || {
        let ok = registered.load(std::sync::atomic::Ordering::Acquire);
        async move {
            ok.then_some(())
                .ok_or_else(|| "KEK versions are not registered yet".to_owned())
        }
    });
    let v = vault.clone();
    let token = host.shutdown();
    host.spawn("monitor", async move { monitor::run(v, token).await });

    host.serve_ops(&cfg.http)?;
    let auth = ServiceAuth::new(&platform.internal, ALLOWED_CALLERS);
    let svc = VaultServiceServer::with_interceptor(grpc::VaultGrpc::new(vault), auth);
    host.serve_grpc_tls(&cfg.grpc, platform.internal.tls.as_ref(), move |router| {
        router.add_service(svc)
    })
    .await?;
    tracing::info!(http = %cfg.http, grpc = %cfg.grpc, "vault started");
    host.wait().await?;
    Ok(())
}
