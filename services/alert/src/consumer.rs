//! The handler of `keyward.events.alert`: each domain event is applied in its own transaction
//! together with its event id, so a redelivered event changes nothing; the batch is acked after
//! every transaction committed.

use keyward_bus::{Handled, Message};
use keyward_proto::v1::DomainEvent;
use keyward_proto::v1::domain_event::Payload;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::Who;
use crate::dispatch::Wake;
use crate::error::{AlertError, Result};
use crate::lifecycle::{self, Action, Fired};
use crate::metrics::AlertMetrics;
use crate::store::{alerts, channels, outbox, rules};
use crate::{defaults, matcher};

/// Turns domain events into alerts.
#[derive(Clone)]
pub struct EventHandler {
    pub pool: PgPool,
    pub wake: Wake,
    pub metrics: AlertMetrics,
    pub max_attempts: i32,
}

/// The provider key an event is about, if any.
fn key_id(event: &DomainEvent) -> Option<&str> {
    match &event.payload {
        Some(Payload::KeyInvalid(k)) => Some(&k.key_id),
        Some(Payload::KeyExpiring(k)) => Some(&k.key_id),
        Some(Payload::KeyRotationDue(k)) => Some(&k.key_id),
        Some(Payload::KeyAccessAnomaly(k)) => Some(&k.key_id),
        _ => None,
    }
}

impl EventHandler {
    /// Handles a batch in one transaction (one commit per batch, not per event); an error rolls
    /// it all back and the broker redelivers it.
    pub async fn handle(&self, batch: Vec<Message>) -> Result<Handled> {
        let mut changed = false;
        let mut tx = self.pool.begin().await?;
        let mut handled = 0u64;
        for m in &batch {
            let (c, h) = self.one(&mut tx, m).await?;
            changed |= c;
            handled += u64::from(h);
        }
        tx.commit().await?;
        self.metrics
            .events
            .with_label_values(&["handled"])
            .inc_by(handled);
        if changed {
            self.wake.all();
        }
        Ok(Handled::Commit)
    }

    fn reject(&self, m: &Message, why: &str) -> Result<(bool, bool)> {
        tracing::warn!(routing_key = %m.routing_key, message_id = ?m.message_id, reason = why, "domain event rejected");
        self.metrics.events.with_label_values(&["rejected"]).inc();
        Ok((false, false))
    }

    /// Applies one event; returns (alerts changed, handled).
    async fn one(&self, tx: &mut PgConnection, m: &Message) -> Result<(bool, bool)> {
        let Ok(event) = DomainEvent::decode(m.data.as_slice()) else {
            return self.reject(m, "not a DomainEvent");
        };
        let id = m
            .message_id
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| event.event_id.clone());
        if id.is_empty() {
            return self.reject(m, "no event id");
        }
        let Ok(org) = Uuid::parse_str(&event.org_id) else {
            return self.reject(m, "org_id is not a UUID");
        };
        let kind = keyward_bus::events::domain_kind(&event);
        let types = matcher::rule_types_for(kind);
        if types.is_empty() {
            self.metrics.events.with_label_values(&["ignored"]).inc();
            return Ok((false, false));
        }
        defaults::ensure_org(&self.pool, org).await?;
        if !outbox::first_time(tx, &id).await? {
            self.metrics.events.with_label_values(&["duplicate"]).inc();
            return Ok((false, false));
        }
        // The vault reports on every secret it holds, channel credentials included; those are
        // ours, not provider keys anyone must rotate.
        if let Some(key) = key_id(&event).and_then(|k| Uuid::parse_str(k).ok())
            && channels::is_secret_ref(tx, org, key).await?
        {
            self.metrics.events.with_label_values(&["ignored"]).inc();
            return Ok((false, false));
        }
        let rule_set = rules::enabled_of_types(tx, org, types).await?;
        let (signals, clearances) = matcher::evaluate(&event, org, &rule_set);
        let mut changed = false;
        for s in &signals {
            let rule = rule_set
                .iter()
                .find(|r| r.id == s.rule_id)
                .ok_or_else(|| AlertError::Internal("signal of an unknown rule".into()))?;
            let fired = lifecycle::fire(tx, rule, s, self.max_attempts).await?;
            let change = match fired {
                Fired::New => "new",
                Fired::Refired => "refired",
                Fired::Folded => "folded",
                Fired::Reopened => "reopened",
            };
            self.metrics.alerts.with_label_values(&[change]).inc();
            changed = true;
        }
        for c in &clearances {
            for a in alerts::open_matching(tx, c).await? {
                lifecycle::act(tx, a, Action::Resolve, &Who::system(), &c.reason).await?;
                self.metrics.alerts.with_label_values(&["resolved"]).inc();
                changed = true;
            }
        }
        Ok((changed, true))
    }
}
