//! Running services: one, or all of them in one process.

use std::time::Duration;

use anyhow::Context;
use keyward_core::ServiceName;
use keyward_telemetry::{Metrics, Supervisor, shutdown_on_signal};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// How long in-flight work may drain after SIGTERM before the process exits anyway.
const DRAIN_GRACE: Duration = Duration::from_secs(8);

/// Every service's migrations, in dependency order (grants reference other services' roles,
/// which exist before any migration runs).
pub fn migrations() -> Vec<(ServiceName, &'static sqlx::migrate::Migrator)> {
    vec![
        (ServiceName::ApiGateway, &keyward_api_gateway::MIGRATOR),
        (ServiceName::Vault, &keyward_vault::MIGRATOR),
        (ServiceName::Audit, &keyward_audit::MIGRATOR),
        (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (ServiceName::Cost, &keyward_cost::MIGRATOR),
        (ServiceName::Alert, &keyward_alert::MIGRATOR),
    ]
}

/// `keyward migrate`.
pub async fn migrate(cfg: &Config) -> anyhow::Result<()> {
    keyward_db::migrate_all(&cfg.database, &migrations())
        .await
        .context("migrations failed (is the database reachable and database.admin_user allowed to create roles?)")?;
    tracing::info!("migrations applied");
    Ok(())
}

/// `keyward up`.
pub async fn up(cfg: &Config, migrate_first: bool) -> anyhow::Result<()> {
    if migrate_first {
        migrate(cfg).await?;
    }
    run_services(cfg, &ServiceName::ALL).await
}

/// `keyward <service>`.
pub async fn one(cfg: &Config, service: ServiceName) -> anyhow::Result<()> {
    run_services(cfg, &[service]).await
}

async fn run_services(cfg: &Config, services: &[ServiceName]) -> anyhow::Result<()> {
    let platform = cfg.platform();
    let metrics = Metrics::new()?;
    let shutdown = CancellationToken::new();
    let mut sup = Supervisor::new(shutdown.clone());
    let signal_token = shutdown.clone();
    sup.spawn("signals", shutdown_on_signal(signal_token));
    for &service in services {
        let (p, m, t) = (platform.clone(), metrics.clone(), shutdown.child_token());
        match service {
            ServiceName::ApiGateway => {
                let c = cfg.api_gateway.clone();
                sup.spawn(service.as_str(), async move {
                    keyward_api_gateway::run(&p, &c, m, t).await
                });
            }
            ServiceName::Vault => {
                let c = cfg.vault.clone();
                sup.spawn(service.as_str(), async move {
                    keyward_vault::run(&p, &c, m, t).await
                });
            }
            ServiceName::UsageIngest => {
                let c = cfg.usage_ingest.clone();
                sup.spawn(service.as_str(), async move {
                    keyward_usage_ingest::run(&p, &c, m, t).await
                });
            }
            ServiceName::Cost => {
                let c = cfg.cost.clone();
                sup.spawn(service.as_str(), async move {
                    keyward_cost::run(&p, &c, m, t).await
                });
            }
            ServiceName::Alert => {
                let c = cfg.alert.clone();
                sup.spawn(service.as_str(), async move {
                    keyward_alert::run(&p, &c, m, t).await
                });
            }
            ServiceName::Audit => {
                let c = cfg.audit.clone();
                sup.spawn(service.as_str(), async move {
                    keyward_audit::run(&p, &c, m, t).await
                });
            }
        }
    }
    print_urls_for(cfg, services);
    let waited = sup.wait();
    tokio::pin!(waited);
    // Once shutdown starts, the drain gets DRAIN_GRACE; then we exit regardless.
    let res = tokio::select! {
        r = &mut waited => r,
        () = async { shutdown.cancelled().await; tokio::time::sleep(DRAIN_GRACE).await } => {
            tracing::warn!("drain grace period over; exiting");
            Ok(())
        }
    };
    res.map_err(anyhow::Error::from)?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Logs where each service answers.
pub fn print_urls(cfg: &Config) {
    print_urls_for(cfg, &ServiceName::ALL);
}

fn print_urls_for(cfg: &Config, services: &[ServiceName]) {
    for (what, url) in cfg.urls() {
        let relevant = services.iter().any(|s| what.starts_with(s.as_str()))
            || (services.contains(&ServiceName::ApiGateway) && !what.contains("readiness"));
        if relevant {
            tracing::info!(url = %url, "{what}");
        }
    }
}
