//! Runs the real vault and the alert service in-process on free ports, against the real
//! Postgres and RabbitMQ, with a test publisher of domain events and a tap on audit events.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_alert::{MemorySource, RetryPolicy};
use keyward_bus::events::domain_message;
use keyward_bus::topology::AUDIT_INGEST;
use keyward_bus::{
    Broker, ConsumerOptions, Handled, Message, Publisher, PublisherOptions, Spool, consume,
};
use keyward_core::ServiceName;
use keyward_proto::v1::alert_service_client::AlertServiceClient;
use keyward_proto::v1::domain_event::Payload;
use keyward_proto::v1::{self as pb, AuditEvent, DomainEvent};
use keyward_telemetry::IdentityInjector;
use keyward_testkit::{TestPlatform, free_port};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Client = AlertServiceClient<InterceptedService<Channel, IdentityInjector>>;

pub const KEK: &str = "1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U=";

/// How to start the service.
pub struct Options {
    pub retry: RetryPolicy,
    /// Reach RabbitMQ through this address (a `Gate`) instead of directly.
    pub broker_via: Option<SocketAddr>,
    pub source: Option<Arc<MemorySource>>,
    pub evaluate_interval_secs: u64,
    /// `alert.allow_private_targets`: on, since the test receivers listen on 127.0.0.1.
    pub allow_private_targets: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retry: RetryPolicy {
                max_attempts: 4,
                base_ms: 300,
                factor: 2.0,
                max_ms: 5_000,
                jitter: 0.2,
            },
            broker_via: None,
            source: None,
            evaluate_interval_secs: 3600,
            allow_private_targets: true,
        }
    }
}

pub struct TestAlert {
    pub tp: TestPlatform,
    pub cfg: keyward_alert::Config,
    pub client: Client,
    pub org: String,
    pub events: Publisher,
    pub audits: Arc<Mutex<Vec<AuditEvent>>>,
    pub token: CancellationToken,
}

impl Drop for TestAlert {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

async fn wait_ready(http: &str) {
    let url = format!("http://{http}/readyz");
    for _ in 0..400 {
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not ready at {url}");
}

fn addrs() -> (String, String, String) {
    let (h, g) = (free_port(), free_port());
    (
        format!("127.0.0.1:{h}"),
        format!("127.0.0.1:{g}"),
        format!("http://127.0.0.1:{g}"),
    )
}

pub async fn start(opts: Options) -> TestAlert {
    let mut tp = TestPlatform::new(&[
        (ServiceName::Vault, &keyward_vault::MIGRATOR),
        (ServiceName::Alert, &keyward_alert::MIGRATOR),
    ])
    .await;
    let token = CancellationToken::new();

    let (h, g, u) = addrs();
    let mut vault = keyward_vault::Config::with_addrs(&h, &g, &u);
    vault.kek = Some(KEK.to_string().into());
    vault.maintenance_interval_secs = 3600;
    tp.platform
        .endpoints
        .insert("vault".into(), vault.grpc_url.clone());
    let (p, c, t) = (tp.platform.clone(), vault.clone(), token.clone());
    tokio::spawn(async move {
        keyward_vault::run(&p, &c, keyward_telemetry::Metrics::new().unwrap(), t).await
    });

    // The audit tap: what the audit service would receive from alert.
    let audits = Arc::new(Mutex::new(Vec::new()));
    let tap = Broker::new(&tp.platform.broker, "alert-test-tap", vec![AUDIT_INGEST]);
    let (b, t) = (tap.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    let a = audits.clone();
    tokio::spawn(consume(
        tap,
        AUDIT_INGEST,
        ConsumerOptions::default(),
        token.clone(),
        move |batch: Vec<Message>| {
            let a = a.clone();
            async move {
                for m in batch {
                    let ev = AuditEvent::decode(m.data.as_slice()).unwrap();
                    if ev.service == "alert" {
                        a.lock().unwrap().push(ev);
                    }
                }
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));

    // The test's own, direct, publisher of domain events.
    let direct = Broker::new(&tp.platform.broker, "alert-test-events", Vec::new());
    let (b, t) = (direct.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    direct
        .wait_connected(Duration::from_secs(60))
        .await
        .unwrap();
    let spool = Spool::open(&tp.platform.broker.spool_dir, "test-events").unwrap();
    let (events, task) = Publisher::new(direct, spool, PublisherOptions::default(), token.clone());
    tokio::spawn(task);

    let (h, g, u) = addrs();
    let mut cfg = keyward_alert::Config::with_addrs(&h, &g, &u);
    cfg.retry = opts.retry;
    cfg.tick_ms = 100;
    cfg.evaluate_interval_secs = opts.evaluate_interval_secs;
    cfg.allow_private_targets = opts.allow_private_targets;
    let mut platform = tp.platform.clone();
    if let Some(via) = opts.broker_via {
        platform.broker.url = secrecy::SecretString::from(format!("amqp://guest:guest@{via}/%2f"));
    }
    let source = opts
        .source
        .map(|s| s as Arc<dyn keyward_alert::MetricsSource>);
    let (c, t) = (cfg.clone(), token.clone());
    tokio::spawn(async move {
        let m = keyward_telemetry::Metrics::new().unwrap();
        if let Err(e) = keyward_alert::run_with(&platform, &c, m, t, source).await {
            panic!("alert service failed: {e}");
        }
    });
    wait_ready(&vault.http).await;
    wait_ready(&cfg.http).await;
    let client = connect(&tp, &cfg.grpc_url, "api-gateway");
    TestAlert {
        tp,
        cfg,
        client,
        org: uuid::Uuid::now_v7().to_string(),
        events,
        audits,
        token,
    }
}

pub fn connect(tp: &TestPlatform, url: &str, identity: &str) -> Client {
    let channel = Channel::from_shared(url.to_string())
        .unwrap()
        .connect_lazy();
    AlertServiceClient::with_interceptor(
        channel,
        IdentityInjector::new(&tp.platform.internal, identity).unwrap(),
    )
}

pub fn meta() -> Option<pb::AlertRequestMeta> {
    Some(pb::AlertRequestMeta {
        actor: Some(pb::Actor {
            kind: pb::actor::Kind::User as i32,
            id: "user-1".into(),
            email: Some("admin@example.com".into()),
            ip: None,
        }),
        request_id: "req-1".into(),
    })
}

pub fn secrets(json: serde_json::Value) -> Option<pb::SecretMaterial> {
    Some(pb::SecretMaterial {
        api_key: json.to_string(),
        ..Default::default()
    })
}

impl TestAlert {
    /// Creates a channel; returns it and a generated signing secret, if any.
    pub async fn channel(
        &self,
        kind: &str,
        settings: serde_json::Value,
        secret: serde_json::Value,
    ) -> (pb::AlertChannel, Option<String>) {
        let resp = self
            .client
            .clone()
            .create_channel(pb::CreateChannelRequest {
                channel: Some(pb::AlertChannel {
                    org_id: self.org.clone(),
                    name: format!("{kind}-{}", uuid::Uuid::now_v7()),
                    kind: kind.into(),
                    settings_json: settings.to_string(),
                    ..Default::default()
                }),
                secrets: secrets(secret),
                meta: meta(),
            })
            .await
            .unwrap()
            .into_inner();
        (
            resp.channel.unwrap(),
            resp.generated_signing_secret.map(|s| s.api_key),
        )
    }

    /// A webhook channel to `url` signed with `key`.
    pub async fn webhook(&self, url: &str, key: &str) -> pb::AlertChannel {
        self.channel(
            "webhook",
            serde_json::json!({}),
            serde_json::json!({"url": url, "signing_secret": key}),
        )
        .await
        .0
    }

    /// The org's rules (its defaults on first call).
    pub async fn rules(&self) -> Vec<pb::AlertRule> {
        let req = pb::OrgRef {
            org_id: self.org.clone(),
        };
        self.client
            .clone()
            .list_rules(req)
            .await
            .unwrap()
            .into_inner()
            .rules
    }

    /// Deletes the org's default rule of `rule_type`.
    pub async fn drop_default(&self, rule_type: &str) {
        for r in self
            .rules()
            .await
            .into_iter()
            .filter(|r| r.rule_type == rule_type && r.is_default)
        {
            let req = pb::RuleRef {
                org_id: self.org.clone(),
                id: r.id,
                meta: meta(),
            };
            self.client.clone().delete_rule(req).await.unwrap();
        }
    }

    /// Publishes `payload` as a new domain event of this org; returns the event.
    pub async fn publish(&self, payload: Payload) -> DomainEvent {
        let ev = DomainEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: self.org.clone(),
            payload: Some(payload),
        };
        self.republish(&ev).await;
        ev
    }

    /// Publishes `ev` as it is (a redelivery when published before).
    pub async fn republish(&self, ev: &DomainEvent) {
        let kind = keyward_bus::events::domain_kind(ev);
        self.events
            .publish_confirmed(domain_message(kind, ev))
            .await
            .unwrap();
    }

    /// The org's alerts, newest first.
    pub async fn alerts(&self) -> Vec<pb::Alert> {
        let req = pb::ListAlertsRequest {
            org_id: self.org.clone(),
            ..Default::default()
        };
        self.client
            .clone()
            .list_alerts(req)
            .await
            .unwrap()
            .into_inner()
            .alerts
    }

    /// The org's deliveries with `status` (any when `None`), newest first.
    pub async fn deliveries(&self, status: Option<&str>) -> Vec<pb::Delivery> {
        let req = pb::ListDeliveriesRequest {
            org_id: self.org.clone(),
            status: status.map(str::to_string),
            ..Default::default()
        };
        self.client
            .clone()
            .list_deliveries(req)
            .await
            .unwrap()
            .into_inner()
            .deliveries
    }

    /// Waits for `n` audit events with `action`.
    pub async fn audits_with(&self, action: &str, n: usize) -> Vec<AuditEvent> {
        let found = keyward_testkit::eventually(Duration::from_secs(20), || {
            let got: Vec<AuditEvent> = self
                .audits
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.action == action)
                .cloned()
                .collect();
            async move { (got.len() >= n).then_some(got) }
        })
        .await;
        found.unwrap_or_else(|| {
            let seen: Vec<String> = self
                .audits
                .lock()
                .unwrap()
                .iter()
                .map(|e| e.action.clone())
                .collect();
            panic!("expected {n} audit events {action}, saw {seen:?}")
        })
    }
}

/// A `key.invalid` event payload for `key`.
pub fn key_invalid(key: &str) -> Payload {
    Payload::KeyInvalid(pb::KeyInvalid {
        key_id: key.into(),
        provider: "openai".into(),
        outcome: "invalid".into(),
        reason: "401 invalid_api_key".into(),
    })
}

/// Polls `f` until it holds (20 s).
pub async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
