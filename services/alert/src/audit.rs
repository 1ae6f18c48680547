//! Audit events of alert state changes. They go into the outbox in the transaction of the change
//! and reach the audit service with broker confirms (see `relay`).

use keyward_proto::v1::{Actor, AuditEvent, actor};

/// Who asked for a change: a person through the gateway, or the service itself.
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub actor: Option<Actor>,
    pub request_id: String,
}

impl Who {
    /// The service acting on its own (events, timers).
    pub fn system() -> Self {
        Self::default()
    }

    /// The actor's id for display (`acknowledged_by`), or `system`.
    pub fn label(&self) -> String {
        match &self.actor {
            Some(a) if !a.id.is_empty() => a.id.clone(),
            _ => "system".into(),
        }
    }
}

/// One audited change.
pub struct Change<'a> {
    pub org_id: &'a str,
    /// Dotted verb: `alert.fired`, `alert_rule.created`, `alert_channel.deleted`, ...
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub reason: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// The audit event of `change` by `who`. Never carries secrets (callers pass metadata only) and
/// the reason is redacted anyway.
pub fn event(who: &Who, change: Change<'_>) -> AuditEvent {
    let json = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: change.org_id.to_string(),
        actor: Some(who.actor.clone().unwrap_or(Actor {
            kind: actor::Kind::System as i32,
            id: "alert".into(),
            email: None,
            ip: None,
        })),
        action: change.action.to_string(),
        resource_type: change.resource_type.to_string(),
        resource_id: change.resource_id.to_string(),
        outcome: "success".into(),
        reason: keyward_crypto::redact(change.reason).into_owned(),
        request_id: who.request_id.clone(),
        service: "alert".into(),
        before_json: json(change.before),
        after_json: json(change.after),
    }
}
