//! The operations HTTP server every service runs: `/livez`, `/readyz`, `/metrics`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::{Error, Metrics, Result};

/// A readiness check: `Ok` or why not.
pub type CheckFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The named dependency checks behind `/readyz`.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(String, CheckFn)>,
}

impl Readiness {
    /// No checks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check named `name` (e.g. `database`, `broker`, `vault`).
    pub fn add<F, Fut>(&mut self, name: &str, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let f: CheckFn = Arc::new(move || Box::pin(check()));
        self.checks.push((name.to_string(), f));
    }

    /// Runs every check concurrently. Returns whether all passed and a JSON report.
    pub async fn report(&self) -> (bool, serde_json::Value) {
        let results = futures::future::join_all(self.checks.iter().map(|(_, f)| f())).await;
        let mut ok = true;
        let mut checks = serde_json::Map::new();
        let mut missing = Vec::new();
        for ((name, _), res) in self.checks.iter().zip(results) {
            match res {
                Ok(()) => {
                    checks.insert(name.clone(), json!({"status": "ok"}));
                }
                Err(why) => {
                    ok = false;
                    missing.push(name.clone());
                    checks.insert(name.clone(), json!({"status": "unavailable", "error": why}));
                }
            }
        }
        let status = if ok { "ready" } else { "not_ready" };
        (
            ok,
            json!({"status": status, "missing": missing, "checks": checks}),
        )
    }
}

struct OpsState {
    service: String,
    readiness: Readiness,
    metrics: Metrics,
}

async fn livez(state: web::Data<OpsState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "alive", "service": state.service}))
}

async fn readyz(state: web::Data<OpsState>) -> HttpResponse {
    let (ok, mut body) = state.readiness.report().await;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("service".into(), json!(state.service));
    }
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(state: web::Data<OpsState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// Registers `/livez`, `/readyz` and `/metrics` on an actix app (the gateway mounts them on its
/// main server).
pub fn ops_routes(cfg: &mut web::ServiceConfig, service: &str, readiness: Readiness, m: Metrics) {
    cfg.app_data(web::Data::new(OpsState {
        service: service.to_string(),
        readiness,
        metrics: m,
    }))
    .route("/livez", web::get().to(livez))
    .route("/readyz", web::get().to(readyz))
    .route("/metrics", web::get().to(metrics));
}

/// Binds the ops server on `addr`. The returned server runs until its handle stops it; signals
/// are ours, not actix's.
pub fn ops_server(
    addr: &str,
    service: &str,
    readiness: Readiness,
    metrics: Metrics,
) -> Result<actix_web::dev::Server> {
    let service = service.to_string();
    let server = HttpServer::new(move || {
        let readiness = readiness.clone();
        let metrics = metrics.clone();
        let service = service.clone();
        App::new().configure(move |cfg| ops_routes(cfg, &service, readiness, metrics))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(addr)
    .map_err(|source| Error::Bind {
        addr: addr.to_string(),
        source,
    })?
    .run();
    Ok(server)
}
