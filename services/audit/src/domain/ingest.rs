//! Ingest from `keyward.audit`: decode and validate each message, keep the ones that can't be
//! appended in `rejected_events`, append the rest in one transaction. The consumer acks the
//! batch only after this returns `Ok` (after the commit); redeliveries are deduplicated by id.

use keyward_bus::Message;
use keyward_bus::events::schema;
use keyward_proto::v1::AuditEvent;
use prost::Message as _;

use super::Audit;
use crate::error::Result;
use crate::model::NewEvent;
use crate::store::{Appended, Rejected};

/// Splits a batch into valid events and rejected messages (with their reason).
pub fn decode(batch: Vec<Message>) -> (Vec<NewEvent>, Vec<Rejected>) {
    let mut events = Vec::with_capacity(batch.len());
    let mut rejected = Vec::new();
    for m in batch {
        let decoded = match m.schema.as_deref() {
            Some(s) if s != schema::AUDIT_EVENT => Err(format!("unexpected schema {s}")),
            _ => AuditEvent::decode(m.data.as_slice())
                .map_err(|e| format!("not an AuditEvent: {e}"))
                .and_then(NewEvent::from_proto),
        };
        match decoded {
            Ok(e) => events.push(e),
            Err(reason) => rejected.push(Rejected {
                message_id: m.message_id,
                reason,
                payload: m.data,
            }),
        }
    }
    (events, rejected)
}

impl Audit {
    /// Handles one consumer batch.
    pub async fn ingest(&self, batch: Vec<Message>) -> Result<Appended> {
        let (events, rejected) = decode(batch);
        if !rejected.is_empty() {
            for r in &rejected {
                tracing::warn!(message_id = r.message_id.as_deref().unwrap_or(""), reason = %r.reason, "audit event rejected");
            }
            let n = u64::try_from(rejected.len()).unwrap_or(0);
            self.store.reject(rejected).await?;
            self.metrics.rejected.inc_by(n);
        }
        self.append(events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_proto::v1::{Actor, actor::Kind};

    fn message(data: Vec<u8>, schema: Option<&str>) -> Message {
        Message {
            data,
            message_id: Some("m".into()),
            schema: schema.map(str::to_string),
            routing_key: "audit".into(),
            redelivered: false,
        }
    }

    #[test]
    fn bad_messages_are_rejected_with_a_reason() {
        let good = AuditEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: uuid::Uuid::now_v7().to_string(),
            actor: Some(Actor {
                kind: Kind::System as i32,
                id: "cron".into(),
                email: None,
                ip: None,
            }),
            action: "x.y".into(),
            outcome: "success".into(),
            ..AuditEvent::default()
        };
        let mut bad_org = good.clone();
        bad_org.org_id = "nope".into();
        let (events, rejected) = decode(vec![
            message(good.encode_to_vec(), Some(schema::AUDIT_EVENT)),
            message(bad_org.encode_to_vec(), Some(schema::AUDIT_EVENT)),
            message(vec![0xff, 0xff], None),
            message(good.encode_to_vec(), Some(schema::USAGE_EVENT)),
        ]);
        assert_eq!(events.len(), 1);
        let reasons: Vec<&str> = rejected.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons[0], "org_id is not a UUID");
        assert!(reasons[1].starts_with("not an AuditEvent"));
        assert!(reasons[2].starts_with("unexpected schema"));
    }
}
