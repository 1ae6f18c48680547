//! Trace export to a real (local) OTLP/gRPC collector.

#![expect(clippy::unwrap_used, reason = "test code")]

mod mtls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_otlp_collector() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = TraceServiceServer::new(collector.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    let provider =
        keyward_telemetry::otlp_provider(&format!("http://{addr}"), "keyward-test").unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("resolve_key", provider = "openai");
        let _entered = span.enter();
        tracing::info!("inside");
    });
    let p = provider.clone();
    tokio::task::spawn_blocking(move || p.force_flush())
        .await
        .unwrap()
        .unwrap();
    let mut found = false;
    for _ in 0..50 {
        let reqs = collector.0.lock().unwrap().clone();
        found = reqs.iter().flat_map(|r| &r.resource_spans).any(|rs| {
            let service = rs.resource.as_ref().is_some_and(|r| {
                r.attributes.iter().any(|a| {
                    a.key == "service.name" && format!("{:?}", a.value).contains("keyward-test")
                })
            });
            service
                && rs
                    .scope_spans
                    .iter()
                    .flat_map(|s| &s.spans)
                    .any(|s| s.name == "resolve_key")
        });
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "the span was exported over OTLP");
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .unwrap()
        .unwrap();
}
