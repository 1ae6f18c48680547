//! `[usage_ingest]` configuration.

use serde::Deserialize;

/// `[usage_ingest]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `/livez`, `/readyz`, `/metrics`.
    pub http: String,
    /// gRPC listen address.
    pub grpc: String,
    /// How other services reach this one.
    pub grpc_url: String,
    /// Deliveries one consumer may hold unacknowledged (at least `batch_max`).
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// Events per database transaction, at most.
    #[serde(default = "default_batch_max")]
    pub batch_max: usize,
    /// How long a batch waits to fill up before it is written anyway.
    #[serde(default = "default_batch_linger_ms")]
    pub batch_linger_ms: u64,
    /// Concurrent consumers of the queue (each writes its own batches).
    #[serde(default = "default_consumers")]
    pub consumers: usize,
    /// Raw events older than this are dropped (rollups are kept).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Daily partitions created ahead of time (plain PostgreSQL only).
    #[serde(default = "default_partitions_ahead_days")]
    pub partitions_ahead_days: u32,
    /// How often partitions are created ahead and dropped by retention.
    #[serde(default = "default_maintenance_interval_secs")]
    pub maintenance_interval_secs: u64,
    /// Events stamped further than this in the future are rejected (clock skew allowance).
    #[serde(default = "default_max_future_secs")]
    pub max_future_secs: u64,
}

fn default_prefetch() -> u16 {
    4_000
}
fn default_batch_max() -> usize {
    2_000
}
fn default_batch_linger_ms() -> u64 {
    25
}
fn default_consumers() -> usize {
    2
}
fn default_retention_days() -> u32 {
    400
}
fn default_partitions_ahead_days() -> u32 {
    7
}
fn default_maintenance_interval_secs() -> u64 {
    3_600
}
fn default_max_future_secs() -> u64 {
    300
}

impl Config {
    /// Listen addresses with every other setting at its default.
    pub fn with_addrs(http: &str, grpc: &str, grpc_url: &str) -> Self {
        Self {
            http: http.into(),
            grpc: grpc.into(),
            grpc_url: grpc_url.into(),
            prefetch: default_prefetch(),
            batch_max: default_batch_max(),
            batch_linger_ms: default_batch_linger_ms(),
            consumers: default_consumers(),
            retention_days: default_retention_days(),
            partitions_ahead_days: default_partitions_ahead_days(),
            maintenance_interval_secs: default_maintenance_interval_secs(),
            max_future_secs: default_max_future_secs(),
        }
    }

    /// Checks values that would make the service misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_max == 0 || self.consumers == 0 || self.retention_days == 0 {
            return Err("usage_ingest.batch_max, consumers and retention_days must be > 0".into());
        }
        if usize::from(self.prefetch) < self.batch_max {
            return Err("usage_ingest.prefetch must be at least batch_max".into());
        }
        Ok(())
    }
}
