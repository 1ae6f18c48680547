//! `bench/usage.sh`: usage-ingest throughput, lag, storage and breakdown latency against the
//! local PostgreSQL and RabbitMQ. Prints Markdown rows for bench/RESULTS.md.
//!
//! KW_BENCH_EVENTS (default 200,000) events per throughput run; KW_BENCH_BREAKDOWN_EVENTS
//! (default 10,000,000) events generated with SQL for the breakdown latency run;
//! KW_BENCH_BREAKDOWN_DB=<database> only re-times the breakdowns on a database an earlier run
//! generated (testkit drops `kwt_*` databases after 30 minutes: rename it to keep it).

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary: fail loudly, print results"
)]

use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveTime, Utc};
use futures::future::join_all;
use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_core::ServiceName;
use keyward_cost::analytics::Analytics;
use keyward_proto::v1::{self as pb, UsageEvent};
use keyward_testkit::{TestPlatform, free_port};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Event `i` of a synthetic org shaped like the product: 800 virtual keys, each with one scope,
/// so its team (of 20), project (of 50) and user (of 500) follow from the key; the model (4, over
/// 3 providers) is drawn per event; the provider key follows from the provider (2 per provider,
/// picked by the virtual key). At most 3,200 rollup groups per org and hour.
fn event(i: usize, org: Uuid, ts: chrono::DateTime<Utc>) -> UsageEvent {
    const MODELS: [(&str, &str, usize); 4] = [
        ("openai", "gpt-4o-mini", 0),
        ("openai", "gpt-4.1", 0),
        ("anthropic", "claude-sonnet-4-5", 1),
        ("gemini", "gemini-2.5-flash", 2),
    ];
    let vk = i % 800;
    // A cheap deterministic scramble so the model is not a function of the key.
    let draw = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61;
    let (provider, model, p) = MODELS[draw as usize % 4];
    let id = |salt: usize, n: usize| Uuid::from_u128((salt as u128) << 64 | n as u128).to_string();
    UsageEvent {
        event_id: Uuid::now_v7().to_string(),
        ts: Some(prost_types::Timestamp {
            seconds: ts.timestamp(),
            nanos: i32::try_from(ts.timestamp_subsec_nanos()).unwrap(),
        }),
        org_id: org.to_string(),
        team_id: Some(id(1, vk % 20)),
        project_id: Some(id(2, vk % 50)),
        user_id: Some(id(3, vk % 500)),
        virtual_key_id: Some(id(4, vk)),
        provider_key_id: Some(id(5, p * 2 + vk % 2)),
        provider: provider.into(),
        model: model.into(),
        input_tokens: 500 + (i as u64 * 37) % 3000,
        output_tokens: 50 + (i as u64 * 13) % 700,
        cached_input_tokens: (i as u64 * 7) % 200,
        latency_ms: 300,
        http_status: 200,
        status: "ok".into(),
        request_id: format!("req-{i}"),
        endpoint: "chat".into(),
        ..UsageEvent::default()
    }
}

/// The previous bench data, for comparison: every dimension drawn independently of the virtual
/// key (20 teams, 50 projects, 500 users, 800 keys, 8 provider keys), 4,000 groups per hour.
fn event_independent(i: usize, org: Uuid, ts: chrono::DateTime<Utc>) -> UsageEvent {
    let id =
        |salt: usize, n: usize| Uuid::from_u128((salt as u128) << 64 | (i % n) as u128).to_string();
    UsageEvent {
        team_id: Some(id(1, 20)),
        project_id: Some(id(2, 50)),
        user_id: Some(id(3, 500)),
        virtual_key_id: Some(id(4, 800)),
        provider_key_id: Some(id(5, 8)),
        ..event(i, org, ts)
    }
}

async fn publisher(tp: &TestPlatform, token: &CancellationToken) -> Publisher {
    // Declaring the ingest queue up front keeps the backlog published before the service starts.
    let broker = Broker::new(
        &tp.platform.broker,
        "usage-bench",
        vec![keyward_bus::topology::USAGE_INGEST],
    );
    let (b, t) = (broker.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let spool = Spool::open(&tp.platform.broker.spool_dir, "usage-bench").unwrap();
    let (p, task) = Publisher::new(broker, spool, PublisherOptions::default(), token.clone());
    tokio::spawn(task);
    p
}

async fn publish(p: &Publisher, events: &[UsageEvent]) {
    for chunk in events.chunks(8_192) {
        let confirms = chunk
            .iter()
            .map(|e| p.publish_confirmed(keyward_bus::events::usage_message(e)));
        for r in join_all(confirms).await {
            r.unwrap();
        }
    }
}

async fn count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM usage.events")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_count(pool: &PgPool, n: i64) {
    while count(pool).await < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Events per second through the DB path alone, in batches of 2,000.
async fn in_batches(ingestor: &keyward_usage_ingest::Ingestor, events: &[UsageEvent]) -> f64 {
    let t = Instant::now();
    for chunk in events.chunks(2_000) {
        ingestor.ingest_call(chunk).await.unwrap();
    }
    rate(events.len(), t.elapsed())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let n = env("KW_BENCH_EVENTS", 200_000);
    let big = env("KW_BENCH_BREAKDOWN_EVENTS", 10_000_000);
    // Re-time the breakdowns on a database an earlier run generated (kept ~30 min by testkit).
    if let Ok(db) = std::env::var("KW_BENCH_BREAKDOWN_DB") {
        let pool = PgPool::connect(&format!("postgres://keyward_cost@127.0.0.1:5432/{db}"))
            .await
            .unwrap();
        time_breakdowns(&Analytics::new(pool), big).await;
        return;
    }
    let migrations = [
        (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (ServiceName::Cost, &keyward_cost::MIGRATOR),
    ];
    let tp = TestPlatform::new(&migrations).await;
    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    let token = CancellationToken::new();
    let p = publisher(&tp, &token).await;
    let now = Utc::now();

    // Baseline and ceiling: the DB path without the bus, one event per transaction vs batches.
    let cfg = keyward_usage_ingest::Config::with_addrs("x:1", "x:2", "http://x:2");
    let ingestor = keyward_usage_ingest::ingestor(
        pool.clone(),
        &cfg,
        keyward_usage_ingest::IngestMetrics::new(None).unwrap(),
    )
    .unwrap();
    let org = Uuid::now_v7();
    let single: Vec<_> = (0..2_000).map(|i| event(i, org, now)).collect();
    let t = Instant::now();
    for e in &single {
        ingestor.ingest_call(std::slice::from_ref(e)).await.unwrap();
    }
    let one_by_one = rate(single.len(), t.elapsed());
    let batched: Vec<_> = (0..n).map(|i| event(i, org, now)).collect();
    let db_batched = in_batches(&ingestor, &batched).await;
    println!(
        "| DB path only, 1 event per transaction (baseline) | {one_by_one:.0} events/s | 1.0x |"
    );
    println!(
        "| DB path only, COPY batches of 2,000 | {db_batched:.0} events/s | {:.1}x |",
        db_batched / one_by_one
    );
    let groups: i64 =
        sqlx::query_scalar("SELECT count(*) FROM usage.rollup_hourly WHERE org_id = $1")
            .bind(org)
            .fetch_one(&pool)
            .await
            .unwrap();
    println!("| (hourly rollup rows for those {n} events: {groups}) | | |");
    let org = Uuid::now_v7();
    let independent: Vec<_> = (0..n).map(|i| event_independent(i, org, now)).collect();
    let db_independent = in_batches(&ingestor, &independent).await;
    println!(
        "| DB path only, COPY batches of 2,000, dimensions drawn independently (previous data) | {db_independent:.0} events/s | {:.1}x |",
        db_independent / one_by_one
    );

    // Publisher → RabbitMQ alone (confirmed), into the queue the service will drain.
    let base = count(&pool).await;
    let org = Uuid::now_v7();
    let events: Vec<_> = (0..n).map(|i| event(i, org, now)).collect();
    let t = Instant::now();
    publish(&p, &events).await;
    let publish_rate = rate(n, t.elapsed());
    println!("| publisher → RabbitMQ (confirmed), alone | {publish_rate:.0} events/s | |");
    // usage-ingest started on a backlog: RabbitMQ → ingest → committed.
    let (h, g) = (free_port(), free_port());
    let cfg = keyward_usage_ingest::Config::with_addrs(
        &format!("127.0.0.1:{h}"),
        &format!("127.0.0.1:{g}"),
        &format!("http://127.0.0.1:{g}"),
    );
    let (pl, c, tk) = (tp.platform.clone(), cfg.clone(), token.clone());
    let t = Instant::now();
    tokio::spawn(async move {
        let metrics = keyward_telemetry::Metrics::new().unwrap();
        keyward_usage_ingest::run(&pl, &c, metrics, tk).await
    });
    wait_count(&pool, base + i64::try_from(n).unwrap()).await;
    let drain = rate(n, t.elapsed());
    println!(
        "| RabbitMQ backlog → ingest → committed | {drain:.0} events/s | {:.1}x |",
        drain / one_by_one
    );
    // End to end, concurrently: publish and ingest at once.
    let base = count(&pool).await;
    let org = Uuid::now_v7();
    let events: Vec<_> = (0..n).map(|i| event(i, org, Utc::now())).collect();
    let t = Instant::now();
    publish(&p, &events).await;
    wait_count(&pool, base + i64::try_from(n).unwrap()).await;
    let e2e = rate(n, t.elapsed());
    println!(
        "| end to end: publisher → RabbitMQ → ingest → committed | {e2e:.0} events/s | {:.1}x |",
        e2e / one_by_one
    );

    // Lag at a steady 5,000 events/s for 10 s: event ts (publish time) → committed row.
    let org = Uuid::now_v7();
    let base = count(&pool).await;
    for tick in 0..100usize {
        let started = Instant::now();
        let batch: Vec<_> = (0..50)
            .map(|i| event(tick * 50 + i, org, Utc::now()))
            .collect();
        for e in &batch {
            p.usage(e).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed())).await;
    }
    wait_count(&pool, base + 5_000).await;
    let (p50, p99): (f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), \
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) FROM ( \
           SELECT extract(epoch FROM ingested_at - ts) * 1000 AS lag FROM usage.events \
           WHERE org_id = $1) l",
    )
    .bind(org)
    .fetch_one(&pool)
    .await
    .unwrap();
    println!("| lag event → queryable at 5,000 events/s | p50 {p50:.0} ms, p99 {p99:.0} ms | |");
    token.cancel();

    breakdown(big).await;
}

/// Generates `big` events over 30 days with SQL (and their exact rollups), then times 30-day
/// breakdowns through the cost service's query code.
async fn breakdown(big: usize) {
    let tp = TestPlatform::new(&[
        (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (ServiceName::Cost, &keyward_cost::MIGRATOR),
    ])
    .await;
    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    let cfg = keyward_usage_ingest::Config::with_addrs("x:1", "x:2", "http://x:2");
    let ingestor = keyward_usage_ingest::ingestor(
        pool.clone(),
        &cfg,
        keyward_usage_ingest::IngestMetrics::new(None).unwrap(),
    )
    .unwrap();
    let today = Utc::now().date_naive();
    keyward_usage_ingest::maintenance::pass(&ingestor, today, 1, 400)
        .await
        .unwrap();
    let days: std::collections::BTreeSet<_> = (0..31).map(|d| today - Days::days(d)).collect();
    ingestor.store().ensure_partitions(&days).await.unwrap();
    let end = today.and_time(NaiveTime::MIN).and_utc();
    let start = end - Days::days(30);
    let t = Instant::now();
    let chunk = 1_000_000usize;
    for from in (0..big).step_by(chunk) {
        sqlx::query(include_str!("generate.sql"))
            .bind(i64::try_from(from).unwrap())
            .bind(i64::try_from((from + chunk).min(big)).unwrap())
            .bind(i64::try_from(big).unwrap())
            .bind(start)
            .execute(&pool)
            .await
            .unwrap();
    }
    for table in ["rollup_hourly", "rollup_daily"] {
        let unit = if table == "rollup_hourly" {
            "hour"
        } else {
            "day"
        };
        // Exactly what ingest upserts, computed in one pass.
        let sql = format!(
            "INSERT INTO usage.{table} (bucket, org_id, team_id, project_id, user_id, \
             virtual_key_id, provider_key_id, provider, model, requests, errors, unpriced, \
             input_tokens, output_tokens, cached_input_tokens, cache_write_5m_tokens, \
             cache_write_1h_tokens, reasoning_tokens, latency_ms_sum, cost_micros, dims_key) \
             SELECT date_trunc('{unit}', ts, 'UTC'), org_id, team_id, \
             project_id, user_id, virtual_key_id, provider_key_id, provider, model, count(*), \
             count(*) FILTER (WHERE status <> 'ok'), count(*) FILTER (WHERE NOT priced), \
             sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), \
             sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), sum(reasoning_tokens), \
             sum(latency_ms), sum(cost_micros), usage.dims_key(team_id, project_id, user_id, \
             virtual_key_id, provider_key_id, provider, model) \
             FROM usage.events GROUP BY 1,2,3,4,5,6,7,8,9"
        );
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    let mut admin = tp.db.admin().await;
    sqlx::query("VACUUM ANALYZE")
        .execute(&mut admin)
        .await
        .unwrap();
    let generated = t.elapsed();
    let bytes: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM usage.events), \
           (SELECT sum(pg_total_relation_size(inhrelid))::bigint FROM pg_inherits \
            WHERE inhparent = 'usage.events'::regclass), \
           pg_total_relation_size('usage.rollup_hourly'), pg_total_relation_size('usage.rollup_daily')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    println!(
        "| storage per event ({} events, heap + PK index, plain partitions) | {:.0} bytes | rollups: hourly {} MB, daily {} MB |",
        bytes.0,
        bytes.1 as f64 / bytes.0 as f64,
        bytes.2 / 1_048_576,
        bytes.3 / 1_048_576
    );
    println!(
        "| generating {big} events + rollups with SQL | {:.0} s | |",
        generated.as_secs_f64()
    );

    time_breakdowns(&Analytics::new(tp.db.pool(ServiceName::Cost).await), big).await;
}

/// 40 runs of each 30-day breakdown of one org through the cost service's query code.
async fn time_breakdowns(analytics: &Analytics, big: usize) {
    let end = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc();
    let start = end - Days::days(30);
    let org: Uuid = sqlx::query_scalar("SELECT org_id FROM usage.rollup_daily LIMIT 1")
        .fetch_one(analytics.pool())
        .await
        .unwrap();
    let ts = |t: chrono::DateTime<Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    };
    for (label, group_by, bucket) in [
        (
            "by team × model, daily buckets",
            vec!["team", "model"],
            pb::Bucket::Day,
        ),
        ("by user, no buckets", vec!["user"], pb::Bucket::Unspecified),
        (
            "by project × provider × model, monthly",
            vec!["project", "provider", "model"],
            pb::Bucket::Month,
        ),
    ] {
        let req = pb::BreakdownRequest {
            filter: Some(pb::UsageFilter {
                org_id: org.to_string(),
                ..Default::default()
            }),
            range: Some(pb::TimeRange {
                from: Some(ts(start)),
                to: Some(ts(end)),
            }),
            group_by: group_by.iter().map(|s| (*s).to_owned()).collect(),
            bucket: bucket as i32,
            page: None,
        };
        let mut ms = Vec::new();
        for _ in 0..40 {
            let t = Instant::now();
            analytics.breakdown(&req).await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| 30-day breakdown over {big} events ({label}), one org | p50 {:.1} ms, p95 {:.1} ms | |",
            percentile(&ms, 0.5),
            percentile(&ms, 0.95)
        );
    }
}
