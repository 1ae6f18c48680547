//! A Prometheus registry per process, with names `keyward_<service>_<thing>_<unit>`.

use std::sync::Arc;

use crate::Result;
use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The process's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// `keyward_up`: 1 per running service.
    pub up: IntGaugeVec,
    /// `keyward_grpc_requests_total{service,method,code}`.
    pub grpc_requests: IntCounterVec,
}

impl Metrics {
    /// A fresh registry with the common metrics.
    pub fn new() -> Result<Self> {
        let registry = Registry::new();
        let up = IntGaugeVec::new(
            Opts::new("keyward_up", "1 while the service runs"),
            &["service"],
        )?;
        let grpc_requests = IntCounterVec::new(
            Opts::new("keyward_grpc_requests_total", "gRPC requests served"),
            &["service", "code"],
        )?;
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(grpc_requests.clone()))?;
        Ok(Self {
            registry: Arc::new(registry),
            up,
            grpc_requests,
        })
    }

    /// Registers a service's own collector; a duplicate name is logged, not fatal.
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) {
        if let Err(e) = self.registry.register(c) {
            tracing::warn!(error = %e, "metric registration failed");
        }
    }

    /// The registry, for services that build their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
