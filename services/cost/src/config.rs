//! `[cost]` configuration.

use serde::Deserialize;

/// `[cost]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `/livez`, `/readyz`, `/metrics`.
    pub http: String,
    /// gRPC listen address.
    pub grpc: String,
    /// How other services reach this one.
    pub grpc_url: String,
    /// How often budgets of orgs with fresh usage are re-evaluated.
    #[serde(default = "default_budget_interval_ms")]
    pub budget_interval_ms: u64,
    /// How often every budget is re-evaluated (period roll-over, missed ticks).
    #[serde(default = "default_full_sweep_secs")]
    pub budget_full_sweep_secs: u64,
    /// How often the outbox of budget events is relayed to `keyward.events`.
    #[serde(default = "default_outbox_interval_ms")]
    pub outbox_interval_ms: u64,
}

fn default_budget_interval_ms() -> u64 {
    1_000
}
fn default_full_sweep_secs() -> u64 {
    60
}
fn default_outbox_interval_ms() -> u64 {
    200
}

impl Config {
    /// Listen addresses with every other setting at its default.
    pub fn with_addrs(http: &str, grpc: &str, grpc_url: &str) -> Self {
        Self {
            http: http.into(),
            grpc: grpc.into(),
            grpc_url: grpc_url.into(),
            budget_interval_ms: default_budget_interval_ms(),
            budget_full_sweep_secs: default_full_sweep_secs(),
            outbox_interval_ms: default_outbox_interval_ms(),
        }
    }
}
