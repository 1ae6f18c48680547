//! Typed publishing of the platform's protobuf messages.

use keyward_proto::v1::{AuditEvent, DomainEvent, UsageEvent};

use crate::topology::{AUDIT, AUDIT_KEY, EVENTS, USAGE, USAGE_KEY};
use crate::{Outgoing, Publisher, Result};

/// Schema names carried in the `x-keyward-schema` header and the AMQP `type` property.
pub mod schema {
    pub const AUDIT_EVENT: &str = "keyward.v1.AuditEvent";
    pub const USAGE_EVENT: &str = "keyward.v1.UsageEvent";
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
