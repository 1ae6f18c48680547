//! The gRPC `AuditService`: a thin adapter from protobuf to [`Audit`].

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use keyward_proto::v1::audit_service_server::AuditService;
use keyward_proto::v1::{
    Checkpoint, EraseSubjectRequest, EraseSubjectResponse, ExportAuditRequest, ExportChunk,
    GetCheckpointRequest, PageResponse, QueryAuditRequest, QueryAuditResponse, VerifyRequest,
    VerifyResponse,
};
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{Audit, ExportFormat, export, parse_org};
use crate::error::AuditError;

/// The tonic service.
#[derive(Clone)]
pub struct GrpcAudit {
    audit: Audit,
}

impl GrpcAudit {
    /// Serves `audit`.
    pub fn new(audit: Audit) -> Self {
        Self { audit }
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<ExportChunk, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl AuditService for GrpcAudit {
    async fn query(
        &self,
        request: Request<QueryAuditRequest>,
    ) -> Result<Response<QueryAuditResponse>, Status> {
        let (filter, cursor, size) = convert::query(request.get_ref())?;
        let (rows, next) = self.audit.query(&filter, cursor, size).await?;
        Ok(Response::new(QueryAuditResponse {
            entries: rows.into_iter().map(convert::entry).collect(),
            page: Some(PageResponse {
                next_cursor: next.map(|c| c.encode()).unwrap_or_default(),
            }),
        }))
    }

    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        let req = request.into_inner();
        let org = parse_org(&req.org_id)?;
        let r = self.audit.verify(org, req.from_seq, req.to_seq).await?;
        Ok(Response::new(VerifyResponse {
            ok: r.ok,
            checked: r.checked,
            first_bad_seq: r.first_bad_seq,
            reason: r.reason,
            checkpoints_checked: r.checkpoints_checked,
        }))
    }

    type ExportStream = ChunkStream;

    async fn export(
        &self,
        request: Request<ExportAuditRequest>,
    ) -> Result<Response<Self::ExportStream>, Status> {
        let req = request.into_inner();
        let format = ExportFormat::parse(&req.format)?;
        let query = req
            .query
            .ok_or_else(|| AuditError::invalid("query is required"))?;
        let (filter, _, _) = convert::query(&query)?;
        let stream = export(self.audit.store().clone(), filter, format)
            .map(|chunk| chunk.map(|data| ExportChunk { data }).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_checkpoint(
        &self,
        request: Request<GetCheckpointRequest>,
    ) -> Result<Response<Checkpoint>, Status> {
        let req = request.into_inner();
        let org = parse_org(&req.org_id)?;
        let cp = self.audit.checkpoint(org, req.seq).await?;
        Ok(Response::new(convert::checkpoint(cp)))
    }

    async fn erase_subject(
        &self,
        request: Request<EraseSubjectRequest>,
    ) -> Result<Response<EraseSubjectResponse>, Status> {
        let req = request.into_inner();
        let org = parse_org(&req.org_id)?;
        let erased = self.audit.erase_subject(org, &req.subject).await?;
        tracing::info!(org = %org, erased, "subject erasure requested");
        Ok(Response::new(EraseSubjectResponse { erased }))
    }
}
