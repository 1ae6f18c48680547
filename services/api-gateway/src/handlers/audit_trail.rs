//! `/audit`: the org's audit trail through the audit service (gRPC) — query, verify the hash
//! chain, export as CSV or NDJSON — and `/provider-keys/{id}/access-log`, the same trail filtered
//! to one key. The org always comes from the caller.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{PathId, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::upstream::grpc_error;

use super::time;

const WHAT: &str = "audit entry";
const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

/// Who acted.
#[derive(Serialize, ToSchema)]
pub struct AuditActor {
    /// user, service, virtual_key or system.
    pub kind: String,
    pub id: String,
    /// Personal data; absent once the subject was erased.
    pub email: Option<String>,
    pub ip: Option<String>,
}

/// One entry of the org's hash chain.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: u64,
    pub event_id: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub actor: Option<AuditActor>,
    /// Dotted verb, e.g. `provider_key.resolve`, `auth.login`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    /// success, failure or denied.
    pub outcome: String,
    pub reason: String,
    pub request_id: String,
    pub service: String,
    /// State before an admin change (never secrets).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// State after an admin change (never secrets).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// Hex SHA-256 of the entry, chained to `prev_hash`.
    pub hash: String,
    pub prev_hash: String,
    /// False once the subject's personal data was erased.
    pub subject_readable: bool,
}

/// A page of entries, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Filters of `/audit` and `/audit/export`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    /// Exact action, e.g. `virtual_key.create`.
    pub action: Option<String>,
    pub resource_id: Option<String>,
    /// success, failure or denied.
    pub outcome: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339, exclusive.
    pub to: Option<DateTime<Utc>>,
    /// 1–500, default 100.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub page_size: Option<u32>,
    pub cursor: Option<String>,
    /// Export only: csv or ndjson.
    pub format: Option<String>,
}

/// `?from_seq=&to_seq=` (0 or absent: from the start / to the head).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    #[serde(default, deserialize_with = "crate::body::num::opt_u64")]
    pub from_seq: Option<u64>,
    #[serde(default, deserialize_with = "crate::body::num::opt_u64")]
    pub to_seq: Option<u64>,
}

/// The outcome of re-hashing the chain.
#[derive(Serialize, ToSchema)]
pub struct VerifyResult {
    pub ok: bool,
    /// Entries re-hashed.
    pub checked: u64,
    /// Signed checkpoints whose signature and hash matched.
    pub checkpoints_checked: u64,
    /// The first entry that does not match, when `ok` is false.
    pub first_bad_seq: Option<u64>,
    pub reason: String,
}

/// `?from=&to=&page_size=&cursor=` of a key's access log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccessLogQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub page_size: Option<u32>,
    pub cursor: Option<String>,
}

fn ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(super::timestamp)
}

fn json_of(s: &str) -> Option<serde_json::Value> {
    (!s.is_empty()).then(|| serde_json::from_str(s).unwrap_or_else(|_| s.into()))
}

impl From<pb::AuditEntry> for AuditEntry {
    fn from(e: pb::AuditEntry) -> Self {
        let ev = e.event.unwrap_or_default();
        Self {
            seq: e.seq,
            occurred_at: time(ev.occurred_at.as_ref()),
            recorded_at: time(e.recorded_at.as_ref()),
            actor: ev.actor.map(|a| AuditActor {
                kind: pb::actor::Kind::try_from(a.kind)
                    .map(|k| {
                        k.as_str_name()
                            .trim_start_matches("KIND_")
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default(),
                id: a.id,
                email: a.email,
                ip: a.ip,
            }),
            before: json_of(&ev.before_json),
            after: json_of(&ev.after_json),
            event_id: ev.event_id,
            action: ev.action,
            resource_type: ev.resource_type,
            resource_id: ev.resource_id,
            outcome: ev.outcome,
            reason: ev.reason,
            request_id: ev.request_id,
            service: ev.service,
            hash: hex::encode(&e.hash),
            prev_hash: hex::encode(&e.prev_hash),
            subject_readable: e.subject_readable,
        }
    }
}

fn page_size(n: Option<u32>) -> ApiResult<u32> {
    match n {
        None => Ok(100),
        Some(n @ 1..=500) => Ok(n),
        Some(_) => Err(ApiError::invalid("page_size", "must be between 1 and 500")),
    }
}

fn range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> ApiResult<Option<pb::TimeRange>> {
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    Ok((from.is_some() || to.is_some()).then(|| pb::TimeRange {
        from: ts(from),
        to: ts(to),
    }))
}

fn short(field: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v {
        Some(s) if s.is_empty() || s.len() > 200 => {
            Err(ApiError::invalid(field, "must be 1–200 characters"))
        }
        v => Ok(v),
    }
}

/// The gRPC query of the filters, always in the caller's org.
fn query_of(c: &Caller, q: AuditQuery) -> ApiResult<pb::QueryAuditRequest> {
    if let Some(o) = &q.outcome
        && !OUTCOMES.contains(&o.as_str())
    {
        return Err(ApiError::invalid(
            "outcome",
            "must be success, failure or denied",
        ));
    }
    Ok(pb::QueryAuditRequest {
        org_id: c.org_id.to_string(),
        actor_id: short("actor_id", q.actor_id)?,
        action: short("action", q.action)?,
        resource_id: short("resource_id", q.resource_id)?,
        outcome: q.outcome,
        range: range(q.from, q.to)?,
        page: Some(pb::PageRequest {
            page_size: page_size(q.page_size)?,
            cursor: q.cursor.unwrap_or_default(),
        }),
    })
}

async fn page(state: &AppState, req: pb::QueryAuditRequest) -> ApiResult<AuditPage> {
    let r = state
        .upstreams
        .audit()?
        .query(req)
        .await
        .map_err(|s| grpc_error(ServiceName::Audit, WHAT, &s))?
        .into_inner();
    Ok(AuditPage {
        items: r.entries.into_iter().map(AuditEntry::from).collect(),
        next_cursor: r.page.map(|p| p.next_cursor).filter(|c| !c.is_empty()),
    })
}

#[utoipa::path(operation_id = "query_audit", get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn query(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    if q.0.format.is_some() {
        return Err(ApiError::invalid(
            "format",
            "only /api/v1/audit/export takes a format",
        ));
    }
    let req = query_of(c, q.0)?;
    Ok(HttpResponse::Ok().json(page(&state, req).await?))
}

#[utoipa::path(operation_id = "verify_audit", get, path = "/api/v1/audit/verify", tag = "audit", params(VerifyQuery), security(("bearer" = [])),
    responses((status = 200, body = VerifyResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn verify(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<VerifyQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let (from_seq, to_seq) = (q.0.from_seq.unwrap_or(0), q.0.to_seq.unwrap_or(0));
    if to_seq != 0 && from_seq > to_seq {
        return Err(ApiError::invalid("from_seq", "must not be after `to_seq`"));
    }
    let r = state
        .upstreams
        .audit()?
        .verify(pb::VerifyRequest {
            org_id: c.org_id.to_string(),
            from_seq,
            to_seq,
        })
        .await
        .map_err(|s| grpc_error(ServiceName::Audit, WHAT, &s))?
        .into_inner();
    Ok(HttpResponse::Ok().json(VerifyResult {
        ok: r.ok,
        checked: r.checked,
        checkpoints_checked: r.checkpoints_checked,
        first_bad_seq: r.first_bad_seq,
        reason: r.reason,
    }))
}

#[utoipa::path(operation_id = "export_audit", get, path = "/api/v1/audit/export", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "CSV (`format=csv`) or NDJSON (`format=ndjson`), streamed", content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn export(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let mut q = q.0;
    let (format, content_type) = match q.format.take().as_deref() {
        Some("csv") => ("csv", "text/csv; charset=utf-8"),
        Some("ndjson") => ("ndjson", "application/x-ndjson"),
        None => return Err(ApiError::invalid("format", "is required: csv or ndjson")),
        Some(_) => return Err(ApiError::invalid("format", "must be csv or ndjson")),
    };
    if q.cursor.is_some() || q.page_size.is_some() {
        return Err(ApiError::invalid(
            if q.cursor.is_some() {
                "cursor"
            } else {
                "page_size"
            },
            "an export is not paged",
        ));
    }
    let query = query_of(c, q)?;
    let stream = state
        .upstreams
        .audit()?
        .export(pb::ExportAuditRequest {
            query: Some(query),
            format: format.into(),
        })
        .await
        .map_err(|s| grpc_error(ServiceName::Audit, WHAT, &s))?
        .into_inner();
    let body = stream.map(|chunk| match chunk {
        Ok(c) => Ok(web::Bytes::from(c.data)),
        Err(s) => {
            tracing::warn!(code = ?s.code(), "audit export stopped mid-stream");
            Err(actix_web::error::ErrorServiceUnavailable(
                "the audit export was interrupted",
            ))
        }
    });
    let filename = format!(
        "keyward-audit-{}-{}.{format}",
        c.org_id,
        Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body))
}

#[utoipa::path(operation_id = "provider_key_access_log", get, path = "/api/v1/provider-keys/{id}/access-log", tag = "provider-keys",
    params(("id" = uuid::Uuid, Path), AccessLogQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn access_log(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    q: Query<AccessLogQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    // 404 unless the key is in the caller's org and within its grant.
    let key = crate::handlers::provider_keys::fetch(&state, &ctx, c, id.0).await?;
    let q = q.0;
    let req = pb::QueryAuditRequest {
        org_id: c.org_id.to_string(),
        actor_id: None,
        action: None,
        resource_id: Some(key.id),
        outcome: None,
        range: range(q.from, q.to)?,
        page: Some(pb::PageRequest {
            page_size: page_size(q.page_size)?,
            cursor: q.cursor.unwrap_or_default(),
        }),
    };
    Ok(HttpResponse::Ok().json(page(&state, req).await?))
}
