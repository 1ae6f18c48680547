//! The `keyward` binary's configuration: the shared platform sections plus one section per
//! service. Loaded from a TOML file and `KEYWARD__SECTION__KEY` environment variables.

use std::collections::BTreeMap;
use std::path::Path;

use keyward_core::ServiceName;
use keyward_core::settings::{
    BrokerConfig, DatabaseConfig, InternalConfig, Platform, TelemetryConfig,
};
use serde::Deserialize;

/// The whole configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    pub database: DatabaseConfig,
    pub broker: BrokerConfig,
    pub internal: InternalConfig,
    #[serde(default = "defaults::api_gateway")]
    pub api_gateway: keyward_api_gateway::Config,
    #[serde(default = "defaults::vault")]
    pub vault: keyward_vault::Config,
    #[serde(default = "defaults::usage_ingest")]
    pub usage_ingest: keyward_usage_ingest::Config,
    #[serde(default = "defaults::cost")]
    pub cost: keyward_cost::Config,
    #[serde(default = "defaults::alert")]
    pub alert: keyward_alert::Config,
    #[serde(default = "defaults::audit")]
    pub audit: keyward_audit::Config,
}

/// Default ports (README "Configuration and ports").
mod defaults {
    pub fn vault() -> keyward_vault::Config {
        keyward_vault::Config::with_addrs("0.0.0.0:9101", "0.0.0.0:50051", "http://127.0.0.1:50051")
    }
    pub fn usage_ingest() -> keyward_usage_ingest::Config {
        keyward_usage_ingest::Config::with_addrs(
            "0.0.0.0:9102",
            "0.0.0.0:50052",
            "http://127.0.0.1:50052",
        )
    }
    pub fn cost() -> keyward_cost::Config {
        keyward_cost::Config::with_addrs("0.0.0.0:9103", "0.0.0.0:50053", "http://127.0.0.1:50053")
    }
    pub fn alert() -> keyward_alert::Config {
        keyward_alert::Config::with_addrs("0.0.0.0:9104", "0.0.0.0:50054", "http://127.0.0.1:50054")
    }
    pub fn audit() -> keyward_audit::Config {
        keyward_audit::Config::listening("0.0.0.0:9105", "0.0.0.0:50055", "http://127.0.0.1:50055")
    }

    pub fn api_gateway() -> keyward_api_gateway::Config {
        keyward_api_gateway::Config::with_http("0.0.0.0:8080")
    }
}

/// Every identity that calls a gRPC service.
pub const IDENTITIES: [&str; 7] = [
    "api-gateway",
    "vault",
    "usage-ingest",
    "cost",
    "alert",
    "audit",
    "operator",
];

impl Config {
    /// Loads and validates. Errors name the file, variable or field at fault.
    pub fn load(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Self, String> {
        // `KEYWARD_KEK` is the documented short form of `KEYWARD__VAULT__KEK`.
        let mut env = env.clone();
        if let Some(kek) = env.get("KEYWARD_KEK").cloned() {
            env.entry("KEYWARD__VAULT__KEK".into()).or_insert(kek);
        }
        let cfg: Config = keyward_core::config::load(file, &env).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        keyward_db::validate(&self.database).map_err(|e| e.to_string())?;
        self.internal.validate(&IDENTITIES)?;
        keyward_vault::Keys::from_config(&self.vault)?;
        if self.internal.tls.is_some() {
            for (name, url) in self.platform().endpoints {
                if !url.starts_with("https://") {
                    return Err(format!(
                        "{name}: grpc_url `{url}` must use https:// when internal.tls is set (mTLS)"
                    ));
                }
            }
        }
        if self.telemetry.level.trim().is_empty() {
            return Err("telemetry.level must not be empty".into());
        }
        let mut seen = BTreeMap::new();
        for (who, addr) in self.listen_addrs() {
            let port = addr
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .ok_or_else(|| format!("{who}: `{addr}` is not host:port"))?;
            if let Some(other) = seen.insert(port, who.clone()) {
                return Err(format!("{who} and {other} both use port {port}"));
            }
        }
        Ok(())
    }

    fn listen_addrs(&self) -> Vec<(String, &str)> {
        vec![
            ("api_gateway.http".into(), self.api_gateway.http.as_str()),
            ("vault.http".into(), &self.vault.http),
            ("vault.grpc".into(), &self.vault.grpc),
            ("usage_ingest.http".into(), &self.usage_ingest.http),
            ("usage_ingest.grpc".into(), &self.usage_ingest.grpc),
            ("cost.http".into(), &self.cost.http),
            ("cost.grpc".into(), &self.cost.grpc),
            ("alert.http".into(), &self.alert.http),
            ("alert.grpc".into(), &self.alert.grpc),
            ("audit.http".into(), &self.audit.http),
            ("audit.grpc".into(), &self.audit.grpc),
        ]
    }

    /// The gateway's persistent secrets, required wherever the gateway runs: random per-process
    /// values would sign everyone out and break every virtual key and TOTP secret on restart.
    pub fn require_gateway_secrets(&self) -> Result<(), String> {
        let g = &self.api_gateway;
        for (name, set) in [
            ("jwt_secret", g.jwt_secret.is_some()),
            ("vkey_pepper", g.vkey_pepper.is_some()),
            ("totp_key", g.totp_key.is_some()),
        ] {
            if !set {
                return Err(format!(
                    "api_gateway.{name} must be set (KEYWARD__API_GATEWAY__{}) to run the gateway",
                    name.to_ascii_uppercase()
                ));
            }
        }
        Ok(())
    }

    /// The shared sections, with every service's gRPC URL.
    pub fn platform(&self) -> Platform {
        let endpoints = BTreeMap::from([
            (
                ServiceName::Vault.as_str().to_string(),
                self.vault.grpc_url.clone(),
            ),
            (
                ServiceName::UsageIngest.as_str().to_string(),
                self.usage_ingest.grpc_url.clone(),
            ),
            (
                ServiceName::Cost.as_str().to_string(),
                self.cost.grpc_url.clone(),
            ),
            (
                ServiceName::Alert.as_str().to_string(),
                self.alert.grpc_url.clone(),
            ),
            (
                ServiceName::Audit.as_str().to_string(),
                self.audit.grpc_url.clone(),
            ),
        ]);
        Platform {
            database: self.database.clone(),
            broker: self.broker.clone(),
            internal: self.internal.clone(),
            telemetry: self.telemetry.clone(),
            endpoints,
        }
    }

    /// The URLs a person opens after `keyward up`.
    pub fn urls(&self) -> Vec<(String, String)> {
        let local = |addr: &str| addr.replace("0.0.0.0", "127.0.0.1");
        let mut out = vec![
            (
                "dashboard and REST API".to_string(),
                format!("http://{}/", local(&self.api_gateway.http)),
            ),
            (
                "LLM proxy (OpenAI/Anthropic base URL)".to_string(),
                format!("http://{}/v1", local(&self.api_gateway.http)),
            ),
        ];
        for (name, http) in [
            ("api-gateway", &self.api_gateway.http),
            ("vault", &self.vault.http),
            ("usage-ingest", &self.usage_ingest.http),
            ("cost", &self.cost.http),
            ("alert", &self.alert.http),
            ("audit", &self.audit.http),
        ] {
            out.push((
                format!("{name} readiness"),
                format!("http://{}/readyz", local(http)),
            ));
        }
        out
    }
}
