//! The API gateway: REST `/api/v1/*` (identity, orgs, RBAC, virtual keys), `/openapi.json`,
//! `/docs`, and `/livez`, `/readyz`, `/metrics`, all on one HTTP port. The LLM proxy `/v1/*`
//! and the web UI join it in later issues.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod body;
mod config;
pub mod dashboard;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod live;
pub mod openapi;
pub mod proxy;
pub mod request_id;
pub mod routes;
pub mod state;
pub mod store;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpServer, web};
use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_telemetry::{GrpcClientConfig, Host, Metrics, Readiness};
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

pub use config::{AuthConfig, Config};
pub use state::AppState;

/// Migrations of the `identity` schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/identity");

/// This service's name.
pub const SERVICE: ServiceName = ServiceName::ApiGateway;

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error(transparent)]
    Telemetry(#[from] keyward_telemetry::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot open the spool in {dir}: {source}")]
    Spool { dir: String, source: std::io::Error },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// The shared state of the REST app: lazy pool, keys from `cfg`, the policy (loaded now when
/// the database is up; otherwise the poller keeps trying and `/readyz` says so).
///
/// # Errors
/// A configuration error (secret too short, bad argon2 parameters, no database password).
pub async fn state(
    platform: &Platform,
    cfg: &Config,
    publisher: Publisher,
) -> Result<web::Data<AppState>, Error> {
    let (keys, ephemeral) = auth::Keys::from_config(cfg).map_err(Error::Config)?;
    for setting in ephemeral {
        tracing::warn!(
            setting,
            "not configured: using a random value for this process only; sign-ins, virtual keys \
             or TOTP secrets made now stop working after a restart (set it for production)"
        );
    }
    let pool = keyward_db::connect_lazy(&platform.database, SERVICE)?;
    let authz = authz::Authorizer::new(pool.clone());
    if let Err(e) = authz.reload().await {
        tracing::warn!(error = %e, "authorization policy not loaded yet; retrying in the background");
    }
    let vault = vault_client(platform)?;
    let upstreams = upstream::Upstreams::new(platform, SERVICE.as_str())?;
    Ok(web::Data::new(AppState {
        pool,
        authz,
        keys: Arc::new(keys),
        auth: cfg.auth.clone(),
        publisher,
        routes: app::route_table(),
        trust_forwarded_for: cfg.trust_forwarded_for,
        allow_private_webhook_targets: cfg.allow_private_webhook_targets,
        vault,
        upstreams,
        live: Arc::new(live::Live::default()),
    }))
}

/// The vault client of the REST API and the LLM proxy (a lazy channel: nothing connects yet).
fn vault_client(platform: &Platform) -> Result<proxy::secrets::VaultClient, Error> {
    let url = platform
        .endpoint(ServiceName::Vault)
        .map_err(Error::Config)?;
    let channel = keyward_telemetry::client_channel(
        &GrpcClientConfig {
            url: url.to_string(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        },
        platform.internal.tls.as_ref(),
    )?;
    let identity = keyward_telemetry::IdentityInjector::new(&platform.internal, SERVICE.as_str())?;
    Ok(
        keyward_proto::v1::vault_service_client::VaultServiceClient::with_interceptor(
            channel, identity,
        ),
    )
}

/// Runs the gateway until `shutdown`.
pub async fn run(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    run_with(platform, cfg, metrics, shutdown, proxy::Options::default()).await
}

/// Runs the gateway with explicit LLM proxy options (budget source, timers) until `shutdown`.
pub async fn run_with(
    platform: &Platform,
    cfg: &Config,
    metrics: Metrics,
    shutdown: CancellationToken,
    proxy_options: proxy::Options,
) -> Result<(), Error> {
    let mut host = Host::new(SERVICE, metrics, shutdown);
    let broker = Broker::new(&platform.broker, "keyward-api-gateway", Vec::new());
    let spool = Spool::open(&platform.broker.spool_dir, SERVICE.as_str()).map_err(|source| {
        Error::Spool {
            dir: platform.broker.spool_dir.display().to_string(),
            source,
        }
    })?;
    let (publisher, publish_task) = Publisher::new(
        broker.clone(),
        spool,
        PublisherOptions::default(),
        host.shutdown(),
    );
    let state = state(platform, cfg, publisher).await?;
    let (proxy, budget_feed) =
        proxy::ProxyState::new(platform, &state, proxy_options).map_err(Error::Config)?;
    if let Some(feed) = budget_feed {
        host.spawn("budget-feed", feed.run(host.shutdown()));
    }
    let events = proxy::events::run(proxy.clone(), broker.clone(), host.shutdown());
    host.spawn("proxy-invalidation", events);
    host.spawn(
        "live-events",
        live::run(state.live.clone(), broker.clone(), host.shutdown()),
    );
    host.readiness
        .add("database", keyward_db::check(state.pool.clone()));
    host.readiness.add("broker", broker.check_fn());
    let authz = state.authz.clone();
    host.readiness
        .add("authz", move || std::future::ready(authz.check_ready()));
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
    host.spawn("publisher", publish_task);
    let poll = Duration::from_millis(cfg.auth.policy_poll_ms.max(100));
    host.spawn(
        "authz-poller",
        state.authz.clone().run(poll, host.shutdown()),
    );
    host.spawn(
        "login-prune",
        prune_login_attempts(state.clone(), host.shutdown()),
    );

    let (readiness, metrics) = (host.readiness.clone(), host.metrics.clone());
    let assets = web::Data::new(
        crate::dashboard::WebAssets::load(&cfg.web_dir).map_err(|e| {
            Error::Config(format!(
                "cannot read the dashboard files in {}: {e}",
                cfg.web_dir.display()
            ))
        })?,
    );
    match assets.dir() {
        Some(dir) => {
            tracing::info!(dir = %dir.display(), files = assets.len(), "serving the web dashboard")
        }
        None => tracing::warn!(
            dir = %cfg.web_dir.display(),
            "the web dashboard is not built (no index.html); `/` says how to build it"
        ),
    }
    let server = http_server(cfg, state, proxy, assets, readiness, metrics)?;
    host.spawn_http("http", server);
    tracing::info!(http = %cfg.http, "api-gateway started");
    host.wait().await?;
    Ok(())
}

/// Drops sign-in attempts older than a day, hourly.
async fn prune_login_attempts(
    state: web::Data<AppState>,
    shutdown: CancellationToken,
) -> Result<(), std::convert::Infallible> {
    loop {
        match store::login::prune(&state.pool).await {
            Ok(n) if n > 0 => tracing::debug!(rows = n, "pruned sign-in attempts"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %keyward_db::describe(&e), "pruning sign-in attempts failed")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// Binds the gateway's HTTP server (a sync fn: actix's app factory is not `Send`).
fn http_server(
    cfg: &Config,
    state: web::Data<AppState>,
    proxy: Arc<proxy::ProxyState>,
    assets: web::Data<crate::dashboard::WebAssets>,
    readiness: Readiness,
    metrics: Metrics,
) -> Result<actix_web::dev::Server, Error> {
    let mut server = HttpServer::new(move || {
        let p = proxy.clone();
        app::app(
            state.clone(),
            readiness.clone(),
            metrics.clone(),
            move |c| {
                proxy::configure(c, p);
            },
        )
        .app_data(assets.clone())
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
