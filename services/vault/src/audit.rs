//! Audit events of vault operations.

use keyward_proto::v1::{Actor, AuditEvent, RequestContext};

/// Builds the audit event of one vault operation. Never includes secret material.
pub fn event(
    ctx: Option<&RequestContext>,
    org_id: &str,
    action: &str,
    key_id: &str,
    outcome: &str,
    reason: &str,
) -> AuditEvent {
    let (actor, request_id) = match ctx {
        Some(c) => (c.actor.clone(), c.request_id.clone()),
        None => (None, String::new()),
    };
    AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: org_id.to_string(),
        actor: Some(actor.unwrap_or(Actor {
            kind: keyward_proto::v1::actor::Kind::System as i32,
            id: "vault".into(),
            email: None,
            ip: None,
        })),
        action: format!("provider_key.{action}"),
        resource_type: "provider_key".into(),
        resource_id: key_id.to_string(),
        outcome: outcome.to_string(),
        reason: keyward_crypto::redact(reason).into_owned(),
        request_id,
        service: "vault".into(),
        before_json: String::new(),
        after_json: String::new(),
    }
}
