//! Process plumbing shared by every service: redacting logs, Prometheus metrics, `/livez`,
//! `/readyz` and `/metrics`, gRPC health and service identity, and a task supervisor that owns
//! shutdown.

mod grpc;
mod host;
mod logging;
pub mod malloc;
mod metrics;
mod ops;
mod supervisor;

pub use grpc::{
    CallerService, GrpcClientConfig, IdentityInjector, InternalConfig, ServiceAuth, TlsConfig,
    client_channel, server_builder,
};
pub use host::Host;
pub use logging::{
    LogFormat, TelemetryConfig, TelemetryGuard, init, otlp_provider, redacting_subscriber,
};
pub use metrics::Metrics;
pub use ops::{CheckFn, Readiness, ops_routes, ops_server};
pub use supervisor::{Supervisor, shutdown_on_signal};

/// Telemetry errors (all at init time).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("logging setup failed: {0}")]
    Logging(String),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("tls setup failed: {0}")]
    Tls(String),
    #[error("metrics setup failed: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("task {task} failed: {message}")]
    Task { task: String, message: String },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
