//! Runs the cost service in-process on free ports with a tap on `keyward.events`, and an
//! in-process ingestor to put usage into the rollups.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_bus::topology::ALERT_EVENTS;
use keyward_bus::{Broker, ConsumerOptions, Handled, Message, consume};
use keyward_core::ServiceName;
use keyward_proto::v1::cost_service_client::CostServiceClient;
use keyward_proto::v1::{DomainEvent, UsageEvent};
use keyward_telemetry::IdentityInjector;
use keyward_testkit::{TestPlatform, free_port};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Client = CostServiceClient<InterceptedService<Channel, IdentityInjector>>;

pub async fn platform() -> TestPlatform {
    TestPlatform::new(&[
        (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (ServiceName::Cost, &keyward_cost::MIGRATOR),
    ])
    .await
}

pub struct TestCost {
    pub tp: TestPlatform,
    pub client: Client,
    pub token: CancellationToken,
    pub events: Arc<Mutex<Vec<DomainEvent>>>,
    pub ingestor: keyward_usage_ingest::Ingestor,
    pub grpc_url: String,
}

impl Drop for TestCost {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

pub async fn start() -> TestCost {
    let tp = platform().await;
    let token = CancellationToken::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let broker = Broker::new(&tp.platform.broker, "cost-test-tap", vec![ALERT_EVENTS]);
    let (b, t) = (broker.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let e = events.clone();
    tokio::spawn(consume(
        broker,
        ALERT_EVENTS,
        ConsumerOptions::default(),
        token.clone(),
        move |batch: Vec<Message>| {
            let e = e.clone();
            async move {
                for m in batch {
                    e.lock()
                        .unwrap()
                        .push(DomainEvent::decode(m.data.as_slice()).unwrap());
                }
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (h, g) = (free_port(), free_port());
    let mut cfg = keyward_cost::Config::with_addrs(
        &format!("127.0.0.1:{h}"),
        &format!("127.0.0.1:{g}"),
        &format!("http://127.0.0.1:{g}"),
    );
    cfg.budget_interval_ms = 100;
    cfg.budget_full_sweep_secs = 1;
    cfg.outbox_interval_ms = 50;
    let (p, c, t) = (tp.platform.clone(), cfg.clone(), token.clone());
    tokio::spawn(async move {
        let metrics = keyward_telemetry::Metrics::new().unwrap();
        keyward_cost::run(&p, &c, metrics, t).await
    });
    let url = format!("http://{}/readyz", cfg.http);
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "cost not ready at {url}");
    let client = client(&tp, &cfg.grpc_url, "api-gateway");
    let usage_cfg = keyward_usage_ingest::Config::with_addrs("x:1", "x:2", "http://x:2");
    let ingestor = keyward_usage_ingest::ingestor(
        tp.db.pool(ServiceName::UsageIngest).await,
        &usage_cfg,
        keyward_usage_ingest::IngestMetrics::new(None).unwrap(),
    )
    .unwrap();
    TestCost {
        tp,
        client,
        token,
        events,
        ingestor,
        grpc_url: cfg.grpc_url,
    }
}

pub fn client(tp: &TestPlatform, url: &str, identity: &str) -> Client {
    let channel = Channel::from_shared(url.to_string())
        .unwrap()
        .connect_lazy();
    CostServiceClient::with_interceptor(
        channel,
        IdentityInjector::new(&tp.platform.internal, identity).unwrap(),
    )
}

/// A usage event now, `input` uncached prompt tokens of gpt-4.1 ($2 / 1M: 2 µ$ per token).
pub fn spend(org: &str, team: Option<&str>, input: u64) -> UsageEvent {
    let now = chrono::Utc::now();
    UsageEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        ts: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: 0,
        }),
        org_id: org.into(),
        team_id: team.map(String::from),
        provider: "openai".into(),
        model: "gpt-4.1".into(),
        input_tokens: input,
        status: "ok".into(),
        ..UsageEvent::default()
    }
}

/// Waits until the tap has seen `n` events of `kind` for `budget`.
pub async fn events_of(t: &TestCost, kind: &str, budget: &str, n: usize) -> Vec<DomainEvent> {
    let mut last = Vec::new();
    for _ in 0..200 {
        last = t
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| keyward_bus::events::domain_kind(e) == kind && budget_of(e) == budget)
            .cloned()
            .collect();
        if last.len() >= n {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} {kind} for {budget}, got {}", last.len());
}

pub fn budget_of(e: &DomainEvent) -> String {
    use keyward_proto::v1::domain_event::Payload;
    match &e.payload {
        Some(Payload::BudgetThreshold(p)) => p.budget_id.clone(),
        Some(Payload::BudgetExhausted(p)) => p.budget_id.clone(),
        Some(Payload::BudgetReset(p)) => p.budget_id.clone(),
        _ => String::new(),
    }
}

/// Every budget event seen for `budget`, as `kind` or `budget.threshold:<percent>`.
pub fn seen(t: &TestCost, budget: &str) -> Vec<String> {
    use keyward_proto::v1::domain_event::Payload;
    t.events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| budget_of(e) == budget)
        .map(|e| match &e.payload {
            Some(Payload::BudgetThreshold(p)) => format!("budget.threshold:{}", p.percent),
            _ => keyward_bus::events::domain_kind(e).to_owned(),
        })
        .collect()
}

/// Ingests usage through the real ingest path.
pub async fn ingest(t: &TestCost, events: &[UsageEvent]) {
    t.ingestor.ingest_call(events).await.unwrap();
}
