//! Shared domain types for every Keyward crate: ids, money, error codes and configuration loading.

pub mod config;
pub mod error;
pub mod id;
pub mod money;
pub mod net;
pub mod settings;

pub use error::ErrorCode;
pub use id::Id;
pub use money::Money;

/// The six services of the platform, in start order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceName {
    Audit,
    Vault,
    UsageIngest,
    Cost,
    Alert,
    ApiGateway,
}

impl ServiceName {
    /// Every service, in the order `keyward up` starts them.
    pub const ALL: [ServiceName; 6] = [
        ServiceName::Audit,
        ServiceName::Vault,
        ServiceName::UsageIngest,
        ServiceName::Cost,
        ServiceName::Alert,
        ServiceName::ApiGateway,
    ];

    /// The kebab-case name used on the command line and in metadata.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceName::Audit => "audit",
            ServiceName::Vault => "vault",
            ServiceName::UsageIngest => "usage-ingest",
            ServiceName::Cost => "cost",
            ServiceName::Alert => "alert",
            ServiceName::ApiGateway => "api-gateway",
        }
    }

    /// The snake_case name used for the Postgres schema, role suffix and metric prefix.
    pub const fn snake(self) -> &'static str {
        match self {
            ServiceName::Audit => "audit",
            ServiceName::Vault => "vault",
            ServiceName::UsageIngest => "usage",
            ServiceName::Cost => "cost",
            ServiceName::Alert => "alert",
            ServiceName::ApiGateway => "identity",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
