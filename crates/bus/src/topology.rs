//! Exchanges, queues and their bindings, declared idempotently by every service at start.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

/// The usage exchange (direct): UsageEvents from gateways and `UsageService.Ingest`.
pub const USAGE: &str = "keyward.usage";
/// The audit exchange (direct): AuditEvents from every service.
pub const AUDIT: &str = "keyward.audit";
/// The domain-event exchange (topic): routing key = event kind, e.g. `budget.exhausted`.
pub const EVENTS: &str = "keyward.events";
/// Dead letters of every queue land here, routed by the original queue's name.
pub const DEAD_LETTER: &str = "keyward.dlx";

/// Routing key of usage events.
pub const USAGE_KEY: &str = "usage";
/// Routing key of audit events.
pub const AUDIT_KEY: &str = "audit";

/// A durable quorum queue and what it is bound to.
#[derive(Clone, Debug)]
pub struct QueueSpec {
    pub name: &'static str,
    pub exchange: &'static str,
    pub binding_keys: &'static [&'static str],
}

/// usage-ingest's queue.
pub const USAGE_INGEST: QueueSpec = QueueSpec {
    name: "keyward.usage.ingest",
    exchange: USAGE,
    binding_keys: &[USAGE_KEY],
};
/// The audit service's queue.
pub const AUDIT_INGEST: QueueSpec = QueueSpec {
    name: "keyward.audit.ingest",
    exchange: AUDIT,
    binding_keys: &[AUDIT_KEY],
};
/// The alert service's queue of domain events.
pub const ALERT_EVENTS: QueueSpec = QueueSpec {
    name: "keyward.events.alert",
    exchange: EVENTS,
    binding_keys: &["budget.#", "key.#"],
};

/// Deliveries of one message before it is dead-lettered instead of requeued again.
pub const DELIVERY_LIMIT: i64 = 20;

/// Names under a namespace, so tests can run side by side on one broker.
#[derive(Clone, Debug, Default)]
pub struct Topology {
    namespace: String,
}

impl Topology {
    /// Names prefixed by `namespace` (`""` for production).
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
        }
    }

    /// The full name of an exchange or queue.
    pub fn name(&self, base: &str) -> String {
        if self.namespace.is_empty() {
            base.to_string()
        } else {
            format!("{}.{base}", self.namespace)
        }
    }

    /// Namespaced (test) queues delete themselves after a minute unused, so test runs don't pile
    /// up quorum queues (each holds file descriptors) on a shared broker. Production queues (no
    /// namespace) never expire.
    fn expire_if_namespaced(&self, args: &mut FieldTable) {
        if !self.namespace.is_empty() {
            args.insert("x-expires".into(), AMQPValue::LongInt(60_000));
        }
    }

    /// Declares the three exchanges and the dead-letter exchange.
    pub async fn declare_exchanges(&self, ch: &Channel) -> lapin::Result<()> {
        // Namespaced (test) exchanges go away with their last binding.
        let durable = ExchangeDeclareOptions {
            durable: true,
            auto_delete: !self.namespace.is_empty(),
            ..ExchangeDeclareOptions::default()
        };
        for (name, kind) in [
            (USAGE, ExchangeKind::Direct),
            (AUDIT, ExchangeKind::Direct),
            (EVENTS, ExchangeKind::Topic),
            (DEAD_LETTER, ExchangeKind::Direct),
        ] {
            ch.exchange_declare(self.name(name).into(), kind, durable, FieldTable::default())
                .await?;
        }
        Ok(())
    }

    /// Declares a durable quorum queue with its dead-letter queue, and binds it.
    pub async fn declare_queue(&self, ch: &Channel, spec: &QueueSpec) -> lapin::Result<String> {
        let name = self.name(spec.name);
        let dlq = format!("{name}.dead");
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let mut dlq_args = FieldTable::default();
        dlq_args.insert("x-queue-type".into(), long_string("quorum"));
        self.expire_if_namespaced(&mut dlq_args);
        ch.queue_declare(dlq.clone().into(), durable, dlq_args)
            .await?;
        ch.queue_bind(
            dlq.clone().into(),
            self.name(DEAD_LETTER).into(),
            name.clone().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), long_string("quorum"));
        args.insert(
            "x-dead-letter-exchange".into(),
            long_string(&self.name(DEAD_LETTER)),
        );
        args.insert("x-dead-letter-routing-key".into(), long_string(&name));
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(DELIVERY_LIMIT),
        );
        self.expire_if_namespaced(&mut args);
        ch.queue_declare(name.clone().into(), durable, args).await?;
        for key in spec.binding_keys {
            ch.queue_bind(
                name.clone().into(),
                self.name(spec.exchange).into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        Ok(name)
    }

    /// Declares a private, auto-deleted queue bound to `exchange` (per-instance cache
    /// invalidation, where every replica must see every event). Quorum queues cannot be
    /// exclusive, so this one is classic and transient by design.
    pub async fn declare_instance_queue(
        &self,
        ch: &Channel,
        exchange: &str,
        keys: &[&str],
    ) -> lapin::Result<String> {
        let queue = ch
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let name = queue.name().as_str().to_string();
        for key in keys {
            ch.queue_bind(
                name.clone().into(),
                self.name(exchange).into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        Ok(name)
    }
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespacing() {
        assert_eq!(Topology::new("").name(USAGE), "keyward.usage");
        assert_eq!(Topology::new("t1").name(USAGE), "t1.keyward.usage");
    }
}
