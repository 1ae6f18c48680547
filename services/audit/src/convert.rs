//! Conversions between protobuf messages and domain types. Bad input becomes `InvalidArgument`
//! naming the field.

use chrono::{DateTime, Utc};
use keyward_proto::v1::{Actor, AuditEntry, AuditEvent, Checkpoint, QueryAuditRequest};

use crate::domain::parse_org;
use crate::error::{AuditError, Result};
use crate::model::{Cursor, Filter, OUTCOMES, StoredEntry};
use crate::store::CheckpointRow;

/// A protobuf timestamp from a UTC time.
pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn time(field: &str, t: &prost_types::Timestamp) -> Result<DateTime<Utc>> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n))
        .ok_or_else(|| AuditError::invalid(format!("{field} is not a valid timestamp")))
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|v| !v.is_empty()).cloned()
}

/// The filter, cursor and page size of a query (or export) request.
pub fn query(req: &QueryAuditRequest) -> Result<(Filter, Option<Cursor>, u32)> {
    let outcome = non_empty(&req.outcome);
    if let Some(o) = &outcome
        && !OUTCOMES.contains(&o.as_str())
    {
        return Err(AuditError::invalid(
            "outcome must be success, failure or denied",
        ));
    }
    let (mut from, mut to) = (None, None);
    if let Some(range) = &req.range {
        from = range
            .from
            .as_ref()
            .map(|t| time("range.from", t))
            .transpose()?;
        to = range.to.as_ref().map(|t| time("range.to", t)).transpose()?;
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AuditError::invalid("range.from must not be after range.to"));
    }
    let page = req.page.clone().unwrap_or_default();
    let cursor = Cursor::decode(&page.cursor).map_err(AuditError::InvalidArgument)?;
    let filter = Filter {
        org_id: parse_org(&req.org_id)?,
        actor_id: non_empty(&req.actor_id),
        action: non_empty(&req.action),
        resource_id: non_empty(&req.resource_id),
        outcome,
        from,
        to,
    };
    Ok((filter, cursor, page.page_size))
}

/// A stored entry as returned over gRPC. Erased personal fields are simply absent.
pub fn entry(e: StoredEntry) -> AuditEntry {
    let subject_readable = e.subject_readable();
    let actor_id = e.actor_id().to_string();
    let c = e.chained;
    AuditEntry {
        seq: c.seq,
        event: Some(AuditEvent {
            event_id: c.event_id.to_string(),
            occurred_at: Some(timestamp(c.occurred_at)),
            org_id: c.org_id.to_string(),
            actor: Some(Actor {
                kind: c.actor_kind,
                id: actor_id,
                email: e.personal.email,
                ip: e.personal.ip,
            }),
            action: c.action,
            resource_type: c.resource_type,
            resource_id: c.resource_id,
            outcome: c.outcome,
            reason: c.reason,
            request_id: c.request_id,
            service: c.service,
            before_json: c.before_json,
            after_json: c.after_json,
        }),
        prev_hash: e.prev_hash,
        hash: e.hash,
        recorded_at: Some(timestamp(c.recorded_at)),
        subject_readable,
    }
}

/// A stored checkpoint as returned over gRPC.
pub fn checkpoint(c: CheckpointRow) -> Checkpoint {
    Checkpoint {
        org_id: c.org_id.to_string(),
        seq: u64::try_from(c.seq).unwrap_or(0),
        hash: c.hash,
        signed_at: Some(timestamp(c.signed_at)),
        signature: c.signature,
        public_key: c.public_key,
    }
}
