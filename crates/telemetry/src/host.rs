//! The frame every service runs in: its ops server, its gRPC server with health, and its tasks,
//! all under one supervisor.

use std::time::Duration;

use keyward_core::ServiceName;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::{Error, Metrics, Readiness, Result, Supervisor, ops_server};

/// One running service.
pub struct Host {
    pub service: ServiceName,
    pub metrics: Metrics,
    pub readiness: Readiness,
    supervisor: Supervisor,
}

impl Host {
    /// A host whose tasks stop when `shutdown` is cancelled (or one of them fails).
    pub fn new(service: ServiceName, metrics: Metrics, shutdown: CancellationToken) -> Self {
        Self {
            service,
            metrics,
            readiness: Readiness::new(),
            supervisor: Supervisor::new(shutdown),
        }
    }

    /// The token this host's tasks watch.
    pub fn shutdown(&self) -> CancellationToken {
        self.supervisor.shutdown()
    }

    /// Spawns a named long-running task.
    pub fn spawn<F, E>(&mut self, name: &str, task: F)
    where
        F: std::future::Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.supervisor
            .spawn(format!("{}/{name}", self.service.as_str()), task);
    }

    /// Binds `/livez`, `/readyz` and `/metrics` on `addr` now (a taken port fails start-up) and
    /// serves them until shutdown.
    pub fn serve_ops(&mut self, addr: &str) -> Result<()> {
        let server = ops_server(
            addr,
            self.service.as_str(),
            self.readiness.clone(),
            self.metrics.clone(),
        )?;
        self.spawn_http("ops-http", server);
        Ok(())
    }

    /// Serves an already bound actix server until shutdown, then stops it gracefully.
    pub fn spawn_http(&mut self, name: &str, server: actix_web::dev::Server) {
        let handle = server.handle();
        let token = self.shutdown();
        self.spawn(&format!("{name}-stopper"), async move {
            token.cancelled().await;
            handle.stop(true).await;
            Ok::<(), std::convert::Infallible>(())
        });
        self.spawn(name, server);
    }

    /// Serves gRPC on `addr` (bound now) with `grpc.health.v1`, whose status follows `/readyz`.
    pub async fn serve_grpc<F>(&mut self, addr: &str, build: F) -> Result<()>
    where
        F: FnOnce(tonic::transport::server::Router) -> tonic::transport::server::Router,
        F: Send,
    {
        self.serve_grpc_tls(addr, None, build).await
    }

    /// Like [`Host::serve_grpc`], with mTLS when `tls` is set.
    pub async fn serve_grpc_tls<F>(
        &mut self,
        addr: &str,
        tls: Option<&crate::TlsConfig>,
        build: F,
    ) -> Result<()>
    where
        F: FnOnce(tonic::transport::server::Router) -> tonic::transport::server::Router,
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let (reporter, health) = tonic_health::server::health_reporter();
        let name = format!("keyward.v1.{}", self.service.as_str());
        let router = build(crate::server_builder(tls)?.add_service(health));
        let token = self.shutdown();
        // A pre-bound listener skips the builder's TCP settings: without TCP_NODELAY, a response
        // written in several frames waits ~40 ms for the peer's delayed ACK (Nagle).
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        self.spawn("grpc", async move {
            router
                .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
                .await
        });
        // Health follows readiness.
        let readiness = self.readiness.clone();
        let token = self.shutdown();
        self.spawn("grpc-health", async move {
            loop {
                let (ok, _) = readiness.report().await;
                let status = if ok {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status("", status).await;
                reporter.set_service_status(&name, status).await;
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
            Ok::<(), std::convert::Infallible>(())
        });
        Ok(())
    }

    /// Runs until shutdown or the first failure.
    pub async fn wait(self) -> Result<()> {
        self.metrics
            .up
            .with_label_values(&[self.service.as_str()])
            .set(1);
        let res = self.supervisor.wait().await;
        self.metrics
            .up
            .with_label_values(&[self.service.as_str()])
            .set(0);
        res
    }
}
