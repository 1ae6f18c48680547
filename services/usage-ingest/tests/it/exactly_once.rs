//! The exactly-once "must show": N unique events with injected duplicates go through RabbitMQ
//! while the consumer **process** is killed with SIGKILL mid-stream and restarted. Afterwards:
//! event rows == unique events, rollup sums == event sums (group by group), and a budget's
//! spend == the event sums.
//!
//! The consumer is this very test binary re-executed as `worker_process` (an ignored test that
//! runs the service when `KW_USAGE_WORKER_CONFIG` is set), so the kill is a real process kill.
//! `KW_EXACTLY_ONCE_EVENTS` sets N (default 100,000; `bench/usage.sh` runs 1,000,000).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use keyward_core::ServiceName;
use keyward_core::settings::{BrokerConfig, DatabaseConfig, InternalConfig, Platform};
use serde::Deserialize;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::harness::*;

const CONFIG_ENV: &str = "KW_USAGE_WORKER_CONFIG";

#[derive(Deserialize)]
struct WorkerConfig {
    database: DatabaseConfig,
    broker: BrokerConfig,
    internal: InternalConfig,
    usage_ingest: keyward_usage_ingest::Config,
}

/// Not a test: the consumer process of `exactly_once_across_kill_9`.
#[tokio::test]
#[ignore = "run by exactly_once_across_kill_9 as a child process"]
async fn worker_process() {
    let Ok(path) = std::env::var(CONFIG_ENV) else {
        return;
    };
    let cfg: WorkerConfig =
        keyward_core::config::load(Some(Path::new(&path)), &BTreeMap::new()).unwrap();
    let platform = Platform {
        database: cfg.database,
        broker: cfg.broker,
        internal: cfg.internal,
        telemetry: Default::default(),
        endpoints: BTreeMap::new(),
    };
    // Exit when the parent test goes away (its end of our stdin closes), so no orphan lingers.
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _eof = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
        t.cancel();
    });
    let metrics = keyward_telemetry::Metrics::new().unwrap();
    keyward_usage_ingest::run(&platform, &cfg.usage_ingest, metrics, token)
        .await
        .unwrap();
}

/// Writes the worker's config: the dev file's shared sections pointed at this test's database
/// and broker namespace.
fn write_config(
    tp: &keyward_testkit::TestPlatform,
    cfg: &keyward_usage_ingest::Config,
) -> std::path::PathBuf {
    let text =
        std::fs::read_to_string(keyward_testkit::repo_root().join("config/dev.toml")).unwrap();
    let mut table: toml::Table = text.parse().unwrap();
    table.retain(|k, _| matches!(k, "database" | "broker" | "internal"));
    let db = table.get_mut("database").unwrap().as_table_mut().unwrap();
    db.insert("url".into(), tp.platform.database.url.clone().into());
    db.insert("max_connections".into(), 8.into());
    let broker = table.get_mut("broker").unwrap().as_table_mut().unwrap();
    broker.insert(
        "namespace".into(),
        tp.platform.broker.namespace.clone().into(),
    );
    broker.insert(
        "spool_dir".into(),
        tp.platform.broker.spool_dir.display().to_string().into(),
    );
    let mut ingest = toml::Table::new();
    ingest.insert("http".into(), cfg.http.clone().into());
    ingest.insert("grpc".into(), cfg.grpc.clone().into());
    ingest.insert("grpc_url".into(), cfg.grpc_url.clone().into());
    table.insert("usage_ingest".into(), ingest.into());
    let path = tp.platform.broker.spool_dir.join("worker.toml");
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
    path
}

async fn spawn_worker(config: &Path, http: &str) -> Child {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "exactly_once::worker_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CONFIG_ENV, config)
        .env("NEXTEST_TEST_FILTER", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://{http}/readyz");
    for _ in 0..400 {
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("worker not ready at {url}");
}

fn event_count() -> usize {
    std::env::var("KW_EXACTLY_ONCE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

#[tokio::test]
async fn exactly_once_across_kill_9() {
    let n = event_count();
    let tp = platform().await;
    let cfg = config();
    let config_path = write_config(&tp, &cfg);
    let mut worker = spawn_worker(&config_path, &cfg.http).await;
    let pool = tp.db.pool(ServiceName::UsageIngest).await;

    let token = CancellationToken::new();
    let publisher = publisher(&tp, &token).await;
    let world = World::new();
    let (org, team) = (world.orgs[0], world.teams[0]);
    let started = Instant::now();
    let now = Utc::now();
    // Every 10th event is sent twice and every 50th three times: 1.12 × N messages.
    let producer = tokio::spawn(async move {
        let mut sent = 0usize;
        let mut chunk = Vec::with_capacity(4_096);
        for i in 0..n {
            let ev = world.event(i, now - chrono::Duration::seconds((i % 7_200) as i64));
            let copies = 1 + usize::from(i % 10 == 0) + usize::from(i % 50 == 0);
            for _ in 0..copies {
                chunk.push(ev.clone());
            }
            if chunk.len() >= 4_000 || i + 1 == n {
                sent += publish_all(&publisher, &chunk).await;
                chunk.clear();
            }
        }
        sent
    });

    // Kill -9 the consumer once a third of the events are committed, then restart it.
    wait_for_events(
        &pool,
        i64::try_from(n / 3).unwrap(),
        Duration::from_secs(600),
    )
    .await;
    worker.start_kill().unwrap();
    worker.wait().await.unwrap();
    let at_kill: i64 = sqlx::query_scalar("SELECT count(*) FROM usage.events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let _worker = spawn_worker(&config_path, &cfg.http).await;
    let sent = producer.await.unwrap();

    let got = wait_for_events(&pool, i64::try_from(n).unwrap(), Duration::from_secs(900)).await;
    let elapsed = started.elapsed();
    // Let every remaining duplicate be consumed before judging.
    wait_for_queue_drained(&tp).await;
    let sums = event_sums(&pool).await;
    println!(
        "exactly-once: {n} unique, {sent} sent, killed at {at_kill} rows, all committed in {:.1}s",
        elapsed.as_secs_f64()
    );
    assert!(
        at_kill < i64::try_from(n).unwrap(),
        "the kill happened mid-stream"
    );
    assert_eq!(got, i64::try_from(n).unwrap());
    assert_eq!(
        sums.0,
        i64::try_from(n).unwrap(),
        "event rows == unique events"
    );
    assert_eq!(
        rollup_sums(&pool, "rollup_hourly").await,
        sums,
        "hourly == events"
    );
    assert_eq!(
        rollup_sums(&pool, "rollup_daily").await,
        sums,
        "daily == events"
    );
    assert_eq!(
        rollup_mismatches(&pool).await,
        0,
        "every rollup group == its events"
    );

    // Budget spend == event sums: an org budget and a team budget, evaluated by the cost service
    // logic from the rollups, against SUM(cost_micros) over the raw events of the same period.
    let cost_pool = tp.db.pool(ServiceName::Cost).await;
    let budgets = keyward_cost::budgets::Budgets::new(cost_pool.clone());
    for team in [None, Some(team.to_string())] {
        let b = budgets
            .create(&keyward_proto::v1::Budget {
                scope: Some(keyward_proto::v1::Scope {
                    org_id: org.to_string(),
                    team_id: team.clone(),
                    ..Default::default()
                }),
                name: "exactly-once".into(),
                period: "month".into(),
                amount: Some(keyward_proto::v1::Money {
                    micros: i64::MAX / 4,
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        let (from, to) = (
            b.period_start.unwrap().seconds,
            b.period_end.unwrap().seconds,
        );
        let want: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(cost_micros), 0)::bigint FROM usage.events WHERE org_id = $1 \
             AND ($2::uuid IS NULL OR team_id = $2) \
             AND ts >= to_timestamp($3) AND ts < to_timestamp($4)",
        )
        .bind(org)
        .bind(team.as_deref().map(|t| uuid::Uuid::parse_str(t).unwrap()))
        .bind(from as f64)
        .bind(to as f64)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(want > 0);
        assert_eq!(b.spent.unwrap().micros, want, "budget spend == event sums");
        let state: i64 = sqlx::query_scalar(
            "SELECT spent_micros FROM cost.budget_state WHERE budget_id = $1::uuid",
        )
        .bind(&b.id)
        .fetch_one(&cost_pool)
        .await
        .unwrap();
        assert_eq!(state, want, "evaluated budget state == event sums");
    }
    token.cancel();
}

/// Publishes with confirms, all in flight at once (the publisher batches them).
pub async fn publish_all(
    publisher: &keyward_bus::Publisher,
    events: &[keyward_proto::v1::UsageEvent],
) -> usize {
    let confirms = events
        .iter()
        .map(|ev| publisher.publish_confirmed(keyward_bus::events::usage_message(ev)));
    for r in futures::future::join_all(confirms).await {
        r.unwrap();
    }
    events.len()
}

/// Waits until the usage queue has no ready messages, then a little longer for in-flight ones.
async fn wait_for_queue_drained(tp: &keyward_testkit::TestPlatform) {
    use lapin::options::QueueDeclareOptions;
    use secrecy::ExposeSecret;
    let conn = lapin::Connection::connect(
        tp.platform.broker.url.expose_secret(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let name = keyward_bus::Topology::new(&tp.platform.broker.namespace)
        .name(keyward_bus::topology::USAGE_INGEST.name);
    for _ in 0..1200 {
        let q = ch
            .queue_declare(
                name.clone().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                Default::default(),
            )
            .await
            .unwrap();
        if q.message_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}
