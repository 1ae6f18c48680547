//! `[vault]` configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// `[vault]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `/livez`, `/readyz`, `/metrics`.
    pub http: String,
    /// gRPC listen address.
    pub grpc: String,
    /// How other services reach this one.
    pub grpc_url: String,
    /// The key-encryption keys: one base64 key (version 1) or `"1:BASE64,2:BASE64"`. The
    /// `KEYWARD_KEK` environment variable sets this too. The highest version seals.
    #[serde(default)]
    pub kek: Option<SecretString>,
    /// A file in the same format (mode 0600); `keyward vault rotate-kek` appends new versions.
    #[serde(default)]
    pub kek_file: Option<PathBuf>,
    /// A passphrase to derive a version-1 KEK from (argon2id), for single-node installs.
    #[serde(default)]
    pub kek_passphrase: Option<SecretString>,
    /// Salt for `kek_passphrase` (at least 16 characters; keep it with your backups).
    #[serde(default)]
    pub kek_salt: Option<String>,
    /// Deployment-wide base URL per provider id (e.g. a corporate proxy, or a local mock).
    #[serde(default)]
    pub provider_base_urls: BTreeMap<String, String>,
    /// Timeout of one live validation call.
    #[serde(default = "default_validation_timeout_ms")]
    pub validation_timeout_ms: u64,
    /// Scheduled health checks: every active key once per interval, jittered.
    #[serde(default = "default_health_interval")]
    pub health_check_interval_secs: u64,
    /// Maintenance loop period (grace expiry, counters, notices, rewrap convergence).
    #[serde(default = "default_maintenance_interval")]
    pub maintenance_interval_secs: u64,
    /// Default anomaly thresholds (orgs may override).
    #[serde(default)]
    pub anomaly: AnomalyThresholds,
    /// Days after which a key's age is warned about, and after which rotation is due.
    #[serde(default = "default_warn_days")]
    pub rotation_warn_days: u32,
    #[serde(default = "default_due_days")]
    pub rotation_due_days: u32,
    /// Warn this many days before a key expires.
    #[serde(default = "default_expiry_warn_days")]
    pub expiry_warn_days: u32,
}

/// Resolves per key per window above which `key.access_anomaly` fires.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnomalyThresholds {
    pub per_minute: u64,
    pub per_hour: u64,
    pub per_day: u64,
}

impl Default for AnomalyThresholds {
    fn default() -> Self {
        Self {
            per_minute: 100,
            per_hour: 10_000,
            per_day: 100_000,
        }
    }
}

fn default_validation_timeout_ms() -> u64 {
    10_000
}
fn default_health_interval() -> u64 {
    6 * 3600
}
fn default_maintenance_interval() -> u64 {
    30
}
fn default_warn_days() -> u32 {
    60
}
fn default_due_days() -> u32 {
    90
}
fn default_expiry_warn_days() -> u32 {
    14
}

impl Config {
    /// Listen addresses with every other setting at its default (no KEK: set one).
    pub fn with_addrs(http: &str, grpc: &str, grpc_url: &str) -> Self {
        Self {
            http: http.into(),
            grpc: grpc.into(),
            grpc_url: grpc_url.into(),
            kek: None,
            kek_file: None,
            kek_passphrase: None,
            kek_salt: None,
            provider_base_urls: BTreeMap::new(),
            validation_timeout_ms: default_validation_timeout_ms(),
            health_check_interval_secs: default_health_interval(),
            maintenance_interval_secs: default_maintenance_interval(),
            anomaly: AnomalyThresholds::default(),
            rotation_warn_days: default_warn_days(),
            rotation_due_days: default_due_days(),
            expiry_warn_days: default_expiry_warn_days(),
        }
    }
}
