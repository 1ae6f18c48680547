//! The tonic adapter of `UsageService`: the work is in [`crate::ingest`].

use std::sync::Arc;

use keyward_proto::v1::usage_service_server::UsageService;
use keyward_proto::v1::{IngestHealthRequest, IngestHealthResponse, IngestRequest, IngestResponse};
use tonic::{Request, Response, Status};

use crate::ingest::{IngestError, Ingestor};

/// gRPC front of usage-ingest.
pub struct UsageGrpc {
    ingestor: Arc<Ingestor>,
}

impl UsageGrpc {
    /// Serves `ingestor`.
    pub fn new(ingestor: Arc<Ingestor>) -> Self {
        Self { ingestor }
    }
}

fn status(e: &IngestError) -> Status {
    e.code().status(e.to_string())
}

#[tonic::async_trait]
impl UsageService for UsageGrpc {
    async fn ingest(
        &self,
        req: Request<IngestRequest>,
    ) -> Result<Response<IngestResponse>, Status> {
        let events = req.into_inner().events;
        let outcome = self
            .ingestor
            .ingest_call(&events)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(IngestResponse {
            accepted: u32::try_from(outcome.inserted).unwrap_or(u32::MAX),
            duplicates: u32::try_from(outcome.duplicates).unwrap_or(u32::MAX),
        }))
    }

    async fn health(
        &self,
        _req: Request<IngestHealthRequest>,
    ) -> Result<Response<IngestHealthResponse>, Status> {
        let (lag_ms, events_total, timescale, rejected_total) = self.ingestor.health().await;
        Ok(Response::new(IngestHealthResponse {
            lag_ms,
            events_total,
            timescale,
            rejected_total,
        }))
    }
}
