//! The API gateway: REST `/api/v1/*`, the LLM proxy `/v1/*`, the web UI, and `/livez`,
//! `/readyz`, `/metrics`, all on one HTTP port.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use keyward_bus::Broker;
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_telemetry::{GrpcClientConfig, Host, Metrics};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

/// Migrations of the `identity` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/identity");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::ApiGateway;

/// `[api_gateway]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// REST, proxy, UI and ops endpoints.
    pub http: String,
    /// HTTP worker threads (default: one per core).
    #[serde(default)]
    pub workers: Option<usize>,
}

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Runs the gateway until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    let broker = Broker::new(&platform.broker, "keyward-api-gateway", Vec::new());
    host.readiness
        .add("database", keyward_db::check(pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    // The gateway depends on the vault for every proxied call: readiness includes it.
    let vault_url = platform
        .endpoint(ServiceName::Vault)
        .map_err(Error::Config)?;
    let vault_channel = keyward_telemetry::client_channel(
        &GrpcClientConfig {
            url: vault_url.to_string(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        },
        platform.internal.tls.as_ref(),
    )?;
    host.readiness.add("vault", move || {
        let ch = vault_channel.clone();
        async move { grpc_health(ch).await }
    });
    let token = host.shutdown();
    let b = broker.clone();
    host.spawn("broker", async move { b.run(token).await });

    let server = http_server(cfg, host.readiness.clone(), host.metrics.clone())?;
    host.spawn_http("http", server);
    tracing::info!(http = %cfg.http, "api-gateway started");
    host.wait().await?;
    Ok(())
}

/// Binds the gateway's HTTP server (a sync fn: actix's app factory is not `Send`).
fn http_server(
    cfg: &Config,
    readiness: keyward_telemetry::Readiness,
    metrics: Metrics,
) -> Result<actix_web::dev::Server, Error> {
    let mut server = HttpServer::new(move || {
        let readiness = readiness.clone();
        let m = metrics.clone();
        App::new()
            .app_data(web::PayloadConfig::new(1024 * 1024))
            .configure(move |c| keyward_telemetry::ops_routes(c, SERVICE.as_str(), readiness, m))
    })
    .disable_signals()
    .shutdown_timeout(8);
    if let Some(w) = cfg.workers {
        server = server.workers(w);
    }
    Ok(server
        .bind(&cfg.http)
        .map_err(|source| Error::Bind {
            addr: cfg.http.clone(),
            source,
        })?
        .run())
}

/// `Ok` when the service behind `channel` reports SERVING on `grpc.health.v1`.
async fn grpc_health(channel: tonic::transport::Channel) -> Result<(), String> {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    match client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
    {
        Ok(resp)
            if resp.get_ref().status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 =>
        {
            Ok(())
        }
        Ok(_) => Err("not serving".into()),
        Err(status) => Err(format!("unreachable ({})", status.code())),
    }
}
