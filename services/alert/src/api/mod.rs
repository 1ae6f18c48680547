//! The alert service's operations, as the gRPC adapter (and through it the gateway's REST
//! routes) uses them: rules, channels, alerts and the delivery log. Every change is audited in
//! its own transaction.

mod alerts;
mod channels;
mod rules;

use std::sync::Arc;

use keyward_proto::v1 as pb;
use sqlx::PgPool;
use uuid::Uuid;

use crate::audit::{self, Change, Who};
use crate::dispatch::secrets::Secrets;
use crate::dispatch::{Dispatcher, Wake};
use crate::error::{Result, parse_id};
use crate::store::outbox;

/// The operations.
pub struct Api {
    pub pool: PgPool,
    pub secrets: Secrets,
    pub dispatcher: Arc<Dispatcher>,
    pub wake: Wake,
    pub max_attempts: i32,
}

/// The caller recorded in audit events.
pub fn who(meta: Option<&pb::AlertRequestMeta>) -> Who {
    Who {
        actor: meta.and_then(|m| m.actor.clone()),
        request_id: meta.map(|m| m.request_id.clone()).unwrap_or_default(),
    }
}

/// Parses an org id.
pub fn org_id(value: &str) -> Result<Uuid> {
    parse_id("org_id", value)
}

/// Writes one audit event of an admin change to the outbox.
pub async fn audit_change(
    conn: &mut sqlx::PgConnection,
    who: &Who,
    org: Uuid,
    action: &str,
    resource: (&str, Uuid),
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    let ev = audit::event(
        who,
        Change {
            org_id: &org.to_string(),
            action,
            resource_type: resource.0,
            resource_id: &resource.1.to_string(),
            reason: "",
            before,
            after,
        },
    );
    outbox::push_audit(conn, &ev).await
}
