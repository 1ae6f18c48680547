//! PostgreSQL access: one pool per service under its own login role and schema, migrations under an
//! advisory lock, and TimescaleDB detection.

mod migrate;

use std::time::Duration;

use keyward_core::ServiceName;
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

pub use keyward_core::settings::DatabaseConfig;
pub use migrate::{Migrations, ensure_roles_and_schemas, migrate_all, migrate_service};

/// Database errors. Messages never include passwords.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database url is invalid: {0}")]
    Url(String),
    #[error("no password configured for role {0} (set database.passwords.{1})")]
    MissingPassword(String, String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration of {service} failed: {source}")]
    Migrate {
        service: &'static str,
        source: sqlx::migrate::MigrateError,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The login role of a service (`keyward_vault`, `keyward_identity`, …).
pub fn role_name(service: ServiceName) -> String {
    format!("keyward_{}", service.snake())
}

/// The schema a service owns (`vault`, `identity`, …).
pub fn schema_name(service: ServiceName) -> &'static str {
    service.snake()
}

/// Connection options for a service: its own role, its own schema first on the `search_path`.
pub fn service_options(cfg: &DatabaseConfig, service: ServiceName) -> Result<PgConnectOptions> {
    let password = password_for(cfg, service)?;
    Ok(base_options(cfg)?
        .username(&role_name(service))
        .password(password)
        .options([("search_path", schema_name(service))])
        .application_name(&format!("keyward-{}", service.as_str())))
}

/// Options for the server and database in `url`, with whatever credentials it carries.
pub fn base_options(cfg: &DatabaseConfig) -> Result<PgConnectOptions> {
    if !(cfg.url.starts_with("postgres://") || cfg.url.starts_with("postgresql://")) {
        return Err(Error::Url("expected postgres://host:port/database".into()));
    }
    PgConnectOptions::from_str(&cfg.url).map_err(|_| {
        Error::Url(
            "expected postgres://host:port/database (credentials go in their own fields)".into(),
        )
    })
}

/// Options for the admin role.
pub fn admin_options(cfg: &DatabaseConfig) -> Result<PgConnectOptions> {
    let mut opts = base_options(cfg)?;
    if let Some(user) = &cfg.admin_user {
        opts = opts.username(user);
    }
    if let Some(password) = &cfg.admin_password {
        opts = opts.password(password.expose_secret());
    }
    Ok(opts.application_name("keyward-migrate"))
}

/// The configured password of a service role, or an error naming the missing setting.
pub fn password_for(cfg: &DatabaseConfig, service: ServiceName) -> Result<&str> {
    cfg.password_for(service)
        .ok_or_else(|| Error::MissingPassword(role_name(service), service.snake().to_string()))
}

/// The same configuration pointing at another database (tests make one per test).
pub fn with_database(cfg: &DatabaseConfig, database: &str) -> DatabaseConfig {
    let mut out = cfg.clone();
    let scheme_end = out.url.find("://").map_or(0, |i| i + 3);
    match out.url[scheme_end..].find('/') {
        Some(i) => out.url.truncate(scheme_end + i + 1),
        None => out.url.push('/'),
    }
    out.url.push_str(database);
    out
}

/// Checks what can be checked without connecting.
pub fn validate(cfg: &DatabaseConfig) -> Result<()> {
    base_options(cfg)?;
    for service in ServiceName::ALL {
        password_for(cfg, service)?;
    }
    Ok(())
}

/// A lazily connecting pool for `service`. It never fails at start when the database is down:
/// readiness reports it, and the pool reconnects by itself when the database returns.
pub fn connect_lazy(cfg: &DatabaseConfig, service: ServiceName) -> Result<PgPool> {
    let options = service_options(cfg, service)?;
    Ok(PgPoolOptions::new()
        .max_connections(cfg.max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
        .test_before_acquire(true)
        .connect_lazy_with(options))
}

/// A quick liveness query used by `/readyz`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(pool)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err("timed out".into()),
    }
}

/// A readiness check for `pool` (a 2-second `SELECT 1`).
pub fn check(
    pool: PgPool,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
+ Send
+ Sync
+ 'static {
    move || {
        let pool = pool.clone();
        Box::pin(async move { ping(&pool, Duration::from_secs(2)).await })
    }
}

/// A short, password-free description of a database error for readiness output.
pub fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => format!("unreachable ({})", io.kind()),
        sqlx::Error::PoolTimedOut => "unreachable (pool timed out)".into(),
        sqlx::Error::Database(db) => format!("error {}", db.code().unwrap_or_default()),
        sqlx::Error::Tls(_) => "tls error".into(),
        _ => "unavailable".into(),
    }
}

/// Whether the `timescaledb` extension is installed in the current database.
pub async fn timescale_installed(pool: &PgPool) -> Result<bool> {
    let installed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')",
    )
    .fetch_one(pool)
    .await?;
    Ok(installed)
}

/// Whether the `timescaledb` extension could be installed (it is available to the server).
pub async fn timescale_available(pool: &PgPool) -> Result<bool> {
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
    )
    .fetch_one(pool)
    .await?;
    Ok(available)
}
