//! Configuration sections shared by every service. The `keyward` binary assembles them into its
//! top-level config; services receive them through [`Platform`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::ServiceName;

/// Everything a service needs to reach the rest of the platform.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub database: DatabaseConfig,
    pub broker: BrokerConfig,
    pub internal: InternalConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// gRPC URLs of the services, keyed by service name (`vault` → `http://127.0.0.1:50051`).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
}

impl Platform {
    /// The gRPC URL of `service`, or a message naming the missing setting.
    pub fn endpoint(&self, service: ServiceName) -> Result<&str, String> {
        self.endpoints
            .get(service.as_str())
            .map(String::as_str)
            .ok_or_else(|| {
                format!(
                    "no gRPC url configured for {service} (set {}.grpc_url)",
                    service.as_str().replace('-', "_")
                )
            })
    }
}

/// `[database]`: where Postgres is and the passwords of the per-service roles.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Server and database, without credentials: `postgres://127.0.0.1:5432/keyward`.
    pub url: String,
    /// A role that may create roles and schemas; only `keyward migrate`, `up` and tests use it.
    #[serde(default)]
    pub admin_user: Option<String>,
    #[serde(default)]
    pub admin_password: Option<SecretString>,
    /// One password per service role, keyed by schema name (`vault`, `identity`, `usage`, …).
    #[serde(default)]
    pub passwords: BTreeMap<String, SecretString>,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
}

fn default_max_connections() -> u32 {
    10
}

fn default_acquire_timeout_ms() -> u64 {
    2_000
}

impl DatabaseConfig {
    /// The configured password of a service's role.
    pub fn password_for(&self, service: ServiceName) -> Option<&str> {
        self.passwords
            .get(service.snake())
            .map(|p| p.expose_secret())
    }
}

/// `[broker]`: where RabbitMQ is and how this process uses it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// `amqp://user:password@host:5672/%2f`.
    pub url: SecretString,
    /// Prefix for every exchange and queue name (tests use a unique one). Empty in production.
    #[serde(default)]
    pub namespace: String,
    /// Where publishers keep messages while the broker is unreachable.
    #[serde(default = "default_spool_dir")]
    pub spool_dir: PathBuf,
    /// Messages a consumer may hold unacknowledged.
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
}

fn default_spool_dir() -> PathBuf {
    PathBuf::from("var/spool")
}

fn default_prefetch() -> u16 {
    200
}

/// `[internal]`: how services prove who they are to each other.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalConfig {
    /// One token per calling identity: the six services plus `operator` (the admin CLI).
    pub tokens: BTreeMap<String, SecretString>,
    /// mTLS material; when absent, gRPC runs in plaintext (development only).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

impl InternalConfig {
    /// Checks every identity has a token of at least 16 characters.
    pub fn validate(&self, identities: &[&str]) -> Result<(), String> {
        for id in identities {
            match self.tokens.get(*id) {
                None => return Err(format!("internal.tokens.{id} is missing")),
                Some(t) if t.expose_secret().len() < 16 => {
                    return Err(format!(
                        "internal.tokens.{id} must be at least 16 characters"
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// PEM files for mTLS between services.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA that signed every service's certificate; peers must present one.
    pub ca: PathBuf,
    /// Name expected in servers' certificates (default: the URL's host).
    #[serde(default)]
    pub domain: Option<String>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for terminals.
    #[default]
    Pretty,
    /// One JSON object per line, for production.
    Json,
}

/// `[telemetry]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default)]
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `keyward=debug,sqlx=warn`.
    #[serde(default = "default_level")]
    pub level: String,
    /// OTLP/gRPC collector for traces, e.g. `http://otel-collector:4317`. Off when absent.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// `service.name` of exported spans.
    #[serde(default = "default_service_name")]
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: default_level(),
            otlp_endpoint: None,
            service_name: default_service_name(),
        }
    }
}

fn default_service_name() -> String {
    "keyward".into()
}

fn default_level() -> String {
    "info,sqlx=warn,lapin=warn,amq_protocol=warn,actix_server=warn".into()
}

/// Where one service listens and how others reach it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// `/livez`, `/readyz`, `/metrics` (and, for the gateway, everything else).
    pub http: String,
    /// gRPC listen address (not for the gateway).
    #[serde(default)]
    pub grpc: Option<String>,
    /// How other services reach this one's gRPC, e.g. `http://127.0.0.1:50051`.
    #[serde(default)]
    pub grpc_url: Option<String>,
}
