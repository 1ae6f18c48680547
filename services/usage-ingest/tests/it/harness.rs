//! Runs usage-ingest in-process on free ports, publishes events through the real bus, and checks
//! the database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_core::ServiceName;
use keyward_proto::v1::UsageEvent;
use keyward_proto::v1::usage_service_client::UsageServiceClient;
use keyward_telemetry::IdentityInjector;
use keyward_testkit::{TestPlatform, free_port};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

pub type Client = UsageServiceClient<InterceptedService<Channel, IdentityInjector>>;

pub async fn platform() -> TestPlatform {
    TestPlatform::new(&[
        (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (ServiceName::Cost, &keyward_cost::MIGRATOR),
    ])
    .await
}

pub fn config() -> keyward_usage_ingest::Config {
    let (h, g) = (free_port(), free_port());
    keyward_usage_ingest::Config::with_addrs(
        &format!("127.0.0.1:{h}"),
        &format!("127.0.0.1:{g}"),
        &format!("http://127.0.0.1:{g}"),
    )
}

/// A running usage-ingest, stopped on drop.
pub struct Running {
    pub token: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

pub async fn start(tp: &TestPlatform, cfg: &keyward_usage_ingest::Config) -> Running {
    let token = CancellationToken::new();
    let (p, c, t) = (tp.platform.clone(), cfg.clone(), token.clone());
    let task = tokio::spawn(async move {
        let metrics = keyward_telemetry::Metrics::new().unwrap();
        keyward_usage_ingest::run(&p, &c, metrics, t).await
    });
    let url = format!("http://{}/readyz", cfg.http);
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            drop(task);
            return Running { token };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("usage-ingest not ready at {url}");
}

pub fn client(tp: &TestPlatform, cfg: &keyward_usage_ingest::Config, identity: &str) -> Client {
    let channel = Channel::from_shared(cfg.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    UsageServiceClient::with_interceptor(
        channel,
        IdentityInjector::new(&tp.platform.internal, identity).unwrap(),
    )
}

/// A publisher on the test's broker namespace (as the gateway would use).
pub async fn publisher(tp: &TestPlatform, token: &CancellationToken) -> Publisher {
    let broker = Broker::new(&tp.platform.broker, "usage-test-publisher", Vec::new());
    let (b, t) = (broker.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let spool = Spool::open(&tp.platform.broker.spool_dir, "usage-test").unwrap();
    let (publisher, task) =
        Publisher::new(broker, spool, PublisherOptions::default(), token.clone());
    tokio::spawn(task);
    publisher
}

/// A small fixed world of orgs, teams, projects, users and keys.
pub struct World {
    pub orgs: Vec<Uuid>,
    pub teams: Vec<Uuid>,
    pub projects: Vec<Uuid>,
    pub users: Vec<Uuid>,
    pub vkeys: Vec<Uuid>,
    pub pkeys: Vec<Uuid>,
}

pub const MODELS: [(&str, &str); 5] = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o-2024-08-06"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("gemini", "gemini-2.5-flash"),
    ("openai", "no-such-model"),
];

impl World {
    pub fn new() -> Self {
        let ids = |n| (0..n).map(|_| Uuid::now_v7()).collect::<Vec<_>>();
        Self {
            orgs: ids(2),
            teams: ids(4),
            projects: ids(6),
            users: ids(8),
            vkeys: ids(10),
            pkeys: ids(3),
        }
    }

    /// The `i`-th event at `ts`: dimensions and tokens vary deterministically with `i`.
    pub fn event(&self, i: usize, ts: DateTime<Utc>) -> UsageEvent {
        let pick = |v: &[Uuid]| v[i % v.len()].to_string();
        let (provider, model) = MODELS[i % MODELS.len()];
        UsageEvent {
            event_id: Uuid::now_v7().to_string(),
            ts: Some(prost_types::Timestamp {
                seconds: ts.timestamp(),
                nanos: i32::try_from(ts.timestamp_subsec_nanos()).unwrap(),
            }),
            org_id: pick(&self.orgs),
            team_id: (!i.is_multiple_of(5)).then(|| pick(&self.teams)),
            project_id: (!i.is_multiple_of(7)).then(|| pick(&self.projects)),
            user_id: (!i.is_multiple_of(3)).then(|| pick(&self.users)),
            virtual_key_id: Some(pick(&self.vkeys)),
            provider_key_id: Some(pick(&self.pkeys)),
            provider: provider.into(),
            model: model.into(),
            input_tokens: 100 + (i as u64 * 37) % 5000,
            output_tokens: 10 + (i as u64 * 13) % 900,
            cached_input_tokens: (i as u64 * 7) % 300,
            cache_write_5m_tokens: if i.is_multiple_of(4) { 50 } else { 0 },
            cache_write_1h_tokens: if i.is_multiple_of(8) { 20 } else { 0 },
            reasoning_tokens: (i as u64) % 40,
            latency_ms: 100 + (i as u32 % 400),
            http_status: if i.is_multiple_of(11) { 429 } else { 200 },
            status: if i.is_multiple_of(11) {
                "rate_limited"
            } else {
                "ok"
            }
            .into(),
            request_id: format!("req-{i}\tweird\\chars\n"),
            endpoint: "chat".into(),
            streamed: i.is_multiple_of(2),
        }
    }
}

/// Sums of (count, input, output, cached, cache writes, reasoning, cost) over raw events.
pub async fn event_sums(pool: &PgPool) -> (i64, i64, i64, i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*)::bigint, coalesce(sum(input_tokens),0)::bigint, \
         coalesce(sum(output_tokens),0)::bigint, coalesce(sum(cached_input_tokens),0)::bigint, \
         coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens),0)::bigint, \
         coalesce(sum(reasoning_tokens),0)::bigint, coalesce(sum(cost_micros),0)::bigint \
         FROM usage.events",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The same sums from a rollup table.
pub async fn rollup_sums(pool: &PgPool, table: &str) -> (i64, i64, i64, i64, i64, i64, i64) {
    let sql = format!(
        "SELECT coalesce(sum(requests),0)::bigint, coalesce(sum(input_tokens),0)::bigint, \
         coalesce(sum(output_tokens),0)::bigint, coalesce(sum(cached_input_tokens),0)::bigint, \
         coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens),0)::bigint, \
         coalesce(sum(reasoning_tokens),0)::bigint, coalesce(sum(cost_micros),0)::bigint \
         FROM usage.{table}"
    );
    sqlx::query_as(&sql).fetch_one(pool).await.unwrap()
}

/// Rows where the hourly rollup and a GROUP BY over the raw events disagree (must be 0): every
/// measure of every group, both directions.
pub async fn rollup_mismatches(pool: &PgPool) -> i64 {
    let grouped = "SELECT date_trunc('hour', ts, 'UTC') AS bucket, org_id, team_id, project_id, \
        user_id, virtual_key_id, provider_key_id, provider, model, count(*) AS requests, \
        count(*) FILTER (WHERE status <> 'ok') AS errors, count(*) FILTER (WHERE NOT priced) AS unpriced, \
        sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cached_input_tokens) AS c, \
        sum(cache_write_5m_tokens) AS w5, sum(cache_write_1h_tokens) AS w1, \
        sum(reasoning_tokens) AS r, sum(latency_ms) AS l, sum(cost_micros) AS cost \
        FROM usage.events GROUP BY 1,2,3,4,5,6,7,8,9";
    let rollup = "SELECT bucket, org_id, team_id, project_id, user_id, virtual_key_id, \
        provider_key_id, provider, model, requests, errors, unpriced, input_tokens, output_tokens, \
        cached_input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, \
        latency_ms_sum, cost_micros FROM usage.rollup_hourly";
    let sql = format!(
        "SELECT (SELECT count(*) FROM (({grouped}) EXCEPT ({rollup})) a) + \
                (SELECT count(*) FROM (({rollup}) EXCEPT ({grouped})) b)"
    );
    sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap()
}

/// Waits until `usage.events` holds `n` rows.
pub async fn wait_for_events(pool: &PgPool, n: i64, timeout: Duration) -> i64 {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let got: i64 = sqlx::query_scalar("SELECT count(*) FROM usage.events")
            .fetch_one(pool)
            .await
            .unwrap();
        if got >= n || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
