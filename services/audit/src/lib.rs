//! The audit service: a tamper-evident, per-org hash-chained audit log.
//!
//! Events arrive on `keyward.audit` and are appended in batches (one writer per org chain);
//! signed Ed25519 checkpoints pin chain heads; personal data lives in erasable subject tables;
//! retention deletes only up to a checkpoint. gRPC `AuditService` queries, verifies and exports.
//! docs/audit.md describes the design and the exact hash and signature formats.

pub mod canonical;
mod config;
pub mod convert;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod model;
pub mod signing;
pub mod store;
pub mod subject;
mod tasks;

use keyward_bus::Broker;
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_proto::v1::audit_service_server::AuditServiceServer;
use keyward_telemetry::{Host, Metrics, ServiceAuth};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

pub use config::Config;

use crate::domain::Audit;
use crate::grpc::GrpcAudit;
use crate::metrics::AuditMetrics;
use crate::signing::TrustedKeys;
use crate::store::Store;

/// Migrations of the `audit` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/audit");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::Audit;

/// Identities allowed to call this service's gRPC API.
pub const ALLOWED_CALLERS: &[&str] = &["api-gateway", "operator"];

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid [audit] configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("metrics setup failed: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Builds the domain from configuration: store, signer, trusted keys, metrics.
pub fn build(platform: &Platform, cfg: &Config, metrics: &Metrics) -> Result<Audit, Error> {
    cfg.validate().map_err(Error::Config)?;
    let signer = cfg.signer().map_err(|e| Error::Config(e.to_string()))?;
    let trusted = TrustedKeys::new(signer.as_ref(), &cfg.trusted_public_keys)
        .map_err(|e| Error::Config(e.to_string()))?;
    if signer.is_none() {
        tracing::warn!(
            "audit.signing_key is not set: no checkpoints are signed, so retention deletes nothing"
        );
    }
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    Ok(Audit::new(
        Store::new(pool),
        signer,
        trusted,
        cfg.checkpoint_every,
        AuditMetrics::new(metrics)?,
    ))
}

/// Runs the service until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let audit = build(platform, cfg, &metrics)?;
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let broker = Broker::new(
        &platform.broker,
        "keyward-audit",
        vec![keyward_bus::topology::AUDIT_INGEST],
    );
    host.readiness
        .add("database", keyward_db::check(audit.store().pool().clone()));
    host.readiness.add("broker", broker.check_fn());
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });
    tasks::spawn_all(&mut host, &audit, &broker, platform, cfg);
    host.serve_ops(&cfg.http)?;
    let auth = ServiceAuth::new(&platform.internal, ALLOWED_CALLERS);
    let svc = AuditServiceServer::with_interceptor(GrpcAudit::new(audit), auth);
    host.serve_grpc_tls(&cfg.grpc, platform.internal.tls.as_ref(), |router| {
        router.add_service(svc)
    })
    .await?;
    tracing::info!(http = %cfg.http, grpc = %cfg.grpc, "audit started");
    host.wait().await?;
    Ok(())
}
