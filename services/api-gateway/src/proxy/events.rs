//! Cache invalidation: a private per-instance queue on `keyward.events` (every replica sees every
//! event) drops virtual keys on `virtual_key.changed`, an org's model aliases on
//! `model_alias.changed` and provider secrets on `key.revoked` / `key.rotated` / `key.updated`,
//! and hands `budget.*` to the budget source (block on exhausted, unblock on reset). On every
//! (re)connection the caches are cleared and budgets reloaded, since events published while this
//! replica was disconnected are lost to it; the TTLs are the last safety net.

use std::convert::Infallible;
use std::sync::Arc;

use keyward_bus::Broker;
use keyward_bus::topology::EVENTS;
use keyward_proto::v1::DomainEvent;
use keyward_proto::v1::domain_event::Payload;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ProxyState;

/// The routing keys the proxy listens to.
pub const KEYS: [&str; 8] = [
    "virtual_key.changed",
    "model_alias.changed",
    "key.revoked",
    "key.rotated",
    "key.updated",
    "budget.exhausted",
    "budget.reset",
    "budget.threshold",
];

/// Applies one event to the caches.
pub fn apply(state: &ProxyState, event: &DomainEvent) {
    match &event.payload {
        Some(Payload::VirtualKeyChanged(v)) => {
            if let Ok(id) = v.virtual_key_id.parse::<Uuid>() {
                state.vkeys.invalidate(id);
                state.limiter.forget(id);
            }
        }
        Some(Payload::ModelAliasChanged(_)) => {
            if let Ok(org) = event.org_id.parse::<Uuid>() {
                state.aliases.invalidate(org);
            }
        }
        Some(Payload::KeyRevoked(k)) => state.secrets.drop_key(&k.key_id),
        Some(Payload::KeyRotated(k)) => state.secrets.drop_key(&k.key_id),
        // Its routing changed: cached scopes that hold it as primary or candidate go.
        Some(Payload::KeyUpdated(k)) => state.secrets.drop_key(&k.key_id),
        Some(
            Payload::BudgetExhausted(_) | Payload::BudgetReset(_) | Payload::BudgetThreshold(_),
        ) => state.budgets.on_event(event),
        _ => {}
    }
}

/// Consumes the instance queue until `shutdown`, reconnecting with the broker; every
/// (re)connection clears the caches (events published while away are lost to this replica).
pub async fn run(
    state: Arc<ProxyState>,
    broker: Broker,
    shutdown: CancellationToken,
) -> Result<(), Infallible> {
    let on_connect = {
        let state = state.clone();
        move || {
            state.vkeys.clear();
            state.secrets.clear();
            state.aliases.clear();
            state.budgets.on_reconnect();
            tracing::debug!("proxy cache invalidation listening");
        }
    };
    keyward_bus::follow(
        broker,
        EVENTS,
        &KEYS,
        format!("api-gateway-proxy-{}", Uuid::now_v7()),
        shutdown,
        on_connect,
        move |_, body| match DomainEvent::decode(body) {
            Ok(event) => apply(&state, &event),
            Err(_) => tracing::warn!("undecodable domain event ignored"),
        },
    )
    .await
}
