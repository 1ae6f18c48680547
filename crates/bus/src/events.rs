//! Typed publishing of the platform's protobuf messages.

use keyward_proto::v1::{AuditEvent, DomainEvent, UsageBatch, UsageEvent};
use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint};

use crate::topology::{AUDIT, AUDIT_KEY, EVENTS, USAGE, USAGE_KEY};
use crate::{Outgoing, Publisher, Result};

/// Schema names carried in the `x-keyward-schema` header and the AMQP `type` property.
pub mod schema {
    pub const AUDIT_EVENT: &str = "keyward.v1.AuditEvent";
    pub const USAGE_EVENT: &str = "keyward.v1.UsageEvent";
    /// Many usage events in one message (what the publisher sends under load).
    pub const USAGE_BATCH: &str = "keyward.v1.UsageBatch";
    pub const DOMAIN_EVENT: &str = "keyward.v1.DomainEvent";
}

/// An AuditEvent as an outgoing message.
pub fn audit_message(event: &AuditEvent) -> Outgoing {
    Outgoing::proto(
        AUDIT,
        AUDIT_KEY,
        schema::AUDIT_EVENT,
        event.event_id.clone(),
        event,
    )
}

/// A UsageEvent as an outgoing message.
pub fn usage_message(event: &UsageEvent) -> Outgoing {
    Outgoing::proto(
        USAGE,
        USAGE_KEY,
        schema::USAGE_EVENT,
        event.event_id.clone(),
        event,
    )
}

/// Merges the single usage events among `msgs` into `UsageBatch` messages of at most `max`
/// events each (their order kept; every other message is returned as it was, in its order,
/// ahead of the batches). The broker's cost is per message, so one message per proxied request
/// made RabbitMQ the largest CPU user after the gateway itself (bench/RESULTS.md, "LLM proxy").
///
/// A `UsageBatch` is `repeated UsageEvent events = 1`, whose encoding is each event's bytes
/// behind a field key and a length: the batch is built from the events' bytes. A message whose
/// payload is not a valid `UsageEvent` stays on its own, so the consumer rejects it alone, under
/// its own message id, and never a whole batch with it.
pub fn coalesce_usage(msgs: Vec<Outgoing>, max: usize) -> Vec<Outgoing> {
    let max = max.max(1);
    // Messages built from a typed event are known good; only raw ones are decoded to check.
    let batchable = |m: &Outgoing| {
        m.schema == schema::USAGE_EVENT && (m.typed || UsageEvent::decode(&*m.payload).is_ok())
    };
    let singles = msgs
        .iter()
        .filter(|m| m.schema == schema::USAGE_EVENT)
        .count();
    if singles < 2 {
        return msgs;
    }
    let (usage, mut out): (Vec<Outgoing>, Vec<Outgoing>) = msgs.into_iter().partition(batchable);
    let mut usage = usage.into_iter().peekable();
    while usage.peek().is_some() {
        let chunk: Vec<Outgoing> = usage.by_ref().take(max).collect();
        let [first, _, ..] = chunk.as_slice() else {
            out.extend(chunk);
            continue;
        };
        let len: usize = chunk.iter().map(|m| m.payload.len() + 6).sum();
        let mut payload = Vec::with_capacity(len);
        for m in &chunk {
            encode_key(1, WireType::LengthDelimited, &mut payload);
            encode_varint(m.payload.len() as u64, &mut payload);
            payload.extend_from_slice(&m.payload);
        }
        out.push(Outgoing {
            exchange: first.exchange.clone(),
            routing_key: first.routing_key.clone(),
            schema: schema::USAGE_BATCH.to_string(),
            message_id: format!("batch-{}", first.message_id),
            payload,
            typed: true,
        });
    }
    out
}

/// The usage events of one delivery: a `UsageBatch` when its schema says so, else a single
/// `UsageEvent` (also when the schema header is missing).
///
/// # Errors
/// The payload does not decode as the schema it claims.
pub fn usage_events(
    schema: Option<&str>,
    data: &[u8],
) -> std::result::Result<Vec<UsageEvent>, prost::DecodeError> {
    if schema == Some(schema::USAGE_BATCH) {
        Ok(UsageBatch::decode(data)?.events)
    } else {
        Ok(vec![UsageEvent::decode(data)?])
    }
}

/// A DomainEvent as an outgoing message, routed by `kind` (e.g. `budget.exhausted`).
pub fn domain_message(kind: &str, event: &DomainEvent) -> Outgoing {
    Outgoing::proto(
        EVENTS,
        kind,
        schema::DOMAIN_EVENT,
        event.event_id.clone(),
        event,
    )
}

/// The routing key (`kind`) of a domain event, from its payload.
pub fn domain_kind(event: &DomainEvent) -> &'static str {
    use keyward_proto::v1::domain_event::Payload;
    match &event.payload {
        Some(Payload::KeyValidated(_)) => "key.validated",
        Some(Payload::KeyInvalid(_)) => "key.invalid",
        Some(Payload::KeyExpiring(_)) => "key.expiring",
        Some(Payload::KeyRotationDue(_)) => "key.rotation_due",
        Some(Payload::KeyAccessAnomaly(_)) => "key.access_anomaly",
        Some(Payload::KeyRevoked(_)) => "key.revoked",
        Some(Payload::KeyRotated(_)) => "key.rotated",
        Some(Payload::KeyUpdated(_)) => "key.updated",
        Some(Payload::BudgetThreshold(_)) => "budget.threshold",
        Some(Payload::BudgetExhausted(_)) => "budget.exhausted",
        Some(Payload::BudgetReset(_)) => "budget.reset",
        Some(Payload::VirtualKeyChanged(_)) => "virtual_key.changed",
        Some(Payload::PolicyChanged(_)) => "policy.changed",
        Some(Payload::ModelAliasChanged(_)) => "model_alias.changed",
        None => "unknown",
    }
}

impl Publisher {
    /// Publishes an audit event and waits for the broker's confirm. Use it for actions that
    /// reveal a secret: when it fails, fail the action (fail-closed).
    pub async fn audit_confirmed(&self, event: &AuditEvent) -> Result<()> {
        self.publish_confirmed(audit_message(event)).await
    }

    /// Publishes an audit event; spooled durably while the broker is unreachable.
    pub fn audit(&self, event: &AuditEvent) -> Result<()> {
        self.publish(audit_message(event))
    }

    /// Publishes a usage event; spooled durably while the broker is unreachable.
    pub fn usage(&self, event: &UsageEvent) -> Result<()> {
        self.publish(usage_message(event))
    }

    /// Publishes a domain event on `keyward.events`; spooled while the broker is unreachable.
    pub fn domain(&self, event: &DomainEvent) -> Result<()> {
        self.publish(domain_message(domain_kind(event), event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> UsageEvent {
        UsageEvent {
            event_id: format!("ev-{n}"),
            model: "gpt-4o-mini".into(),
            input_tokens: u64::from(n) * 1000,
            ..Default::default()
        }
    }

    #[test]
    fn usage_events_coalesce_into_batches_that_decode_to_the_same_events() {
        let events: Vec<UsageEvent> = (0..7).map(event).collect();
        let mut msgs: Vec<Outgoing> = events.iter().map(usage_message).collect();
        // As read back from the spool: checked by decoding, and good, so it joins a batch.
        msgs[1].typed = false;
        let other = audit_message(&AuditEvent::default());
        msgs.insert(3, other.clone());
        let mut garbage = usage_message(&event(99));
        garbage.payload = vec![0xff, 0xff, 0xff];
        garbage.message_id = "garbage".into();
        garbage.typed = false;
        msgs.insert(5, garbage.clone());
        let out = coalesce_usage(msgs, 3);
        // The audit message and the undecodable one first, then batches of 3, 3 and a single 1.
        let schemas: Vec<&str> = out.iter().map(|m| m.schema.as_str()).collect();
        assert_eq!(
            schemas,
            [
                schema::AUDIT_EVENT,
                schema::USAGE_EVENT,
                schema::USAGE_BATCH,
                schema::USAGE_BATCH,
                schema::USAGE_EVENT
            ]
        );
        assert_eq!(out[0].payload, other.payload);
        assert_eq!(out[1].message_id, "garbage");
        assert_eq!(out[2].message_id, "batch-ev-0");
        let decoded: Vec<UsageEvent> = out[2..]
            .iter()
            .flat_map(|m| usage_events(Some(&m.schema), &m.payload).unwrap())
            .collect();
        assert_eq!(decoded, events);
        // A lone event stays a plain UsageEvent; a missing schema header means one event.
        let one = coalesce_usage(vec![usage_message(&events[0])], 10);
        assert_eq!(one[0].schema, schema::USAGE_EVENT);
        assert_eq!(
            usage_events(None, &one[0].payload).unwrap(),
            vec![events[0].clone()]
        );
        assert!(usage_events(Some(schema::USAGE_BATCH), b"\xff\xff").is_err());
    }
}
