//! Vault benchmarks, against the real Postgres and RabbitMQ (`make bench`):
//! - `Resolve` latency over gRPC, uncached, one request at a time, with its fail-closed audit
//!   publish; baseline: the gRPC health check on the same server (transport only).
//! - the cost of opening one secret (unwrap the data key, decrypt); baseline: HMAC-SHA256 of the
//!   same plaintext.

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "benchmark program"
)]

use std::time::{Duration, Instant};

use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use keyward_testkit::{TestPlatform, free_port};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let (p50, p99) = (pct(&v, 0.50), pct(&v, 0.99));
    println!(
        "{name:<40} n={:<6} p50={:>8.1}µs p99={:>8.1}µs",
        v.len(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    (p50, p99)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let tp = TestPlatform::new(&[(ServiceName::Vault, &keyward_vault::MIGRATOR)]).await;
    let (h, g) = (free_port(), free_port());
    let mut cfg = keyward_vault::Config::with_addrs(
        &format!("127.0.0.1:{h}"),
        &format!("127.0.0.1:{g}"),
        &format!("http://127.0.0.1:{g}"),
    );
    cfg.kek = Some(
        "1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U="
            .to_string()
            .into(),
    );
    cfg.anomaly = keyward_vault::AnomalyThresholds {
        per_minute: u64::MAX,
        per_hour: u64::MAX,
        per_day: u64::MAX,
    };
    let token = tokio_util::sync::CancellationToken::new();
    let (p, c, t) = (tp.platform.clone(), cfg.clone(), token.clone());
    tokio::spawn(async move {
        keyward_vault::run(&p, &c, keyward_telemetry::Metrics::new().unwrap(), t).await
    });
    let channel = tonic::transport::Channel::from_shared(cfg.grpc_url.clone()).unwrap();
    let channel = loop {
        if let Ok(ch) = channel.connect().await {
            break ch;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let auth =
        keyward_telemetry::IdentityInjector::new(&tp.platform.internal, "api-gateway").unwrap();
    let mut client =
        pb::vault_service_client::VaultServiceClient::with_interceptor(channel.clone(), auth);
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let org = uuid::Uuid::now_v7().to_string();
    // Keys at four scopes so resolve does its real ordering work.
    for i in 0..20 {
        let req = pb::StoreKeyRequest {
            name: format!("k{i}"),
            provider: "openai".into(),
            scope: Some(pb::Scope {
                org_id: org.clone(),
                ..Default::default()
            }),
            secret: Some(pb::SecretMaterial {
                api_key: format!("sk-proj-{:A<48}", i),
                ..Default::default()
            }),
            ..Default::default()
        };
        client.store(req).await.unwrap();
    }
    let resolve = pb::ResolveKeyRequest {
        ctx: None,
        scope: Some(pb::Scope {
            org_id: org.clone(),
            ..Default::default()
        }),
        provider: "openai".into(),
        key_id: None,
        version: None,
    };
    // Warm up connections and caches.
    for _ in 0..200 {
        client.resolve(resolve.clone()).await.unwrap();
        health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
    }
    let mut base = Vec::with_capacity(n);
    let mut res = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        base.push(t.elapsed());
        let t = Instant::now();
        client.resolve(resolve.clone()).await.unwrap();
        res.push(t.elapsed());
    }
    println!(
        "machine: {} cores; n={n}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let (b50, b99) = summary("baseline: gRPC health check", base);
    let (r50, r99) = summary("Resolve (uncached, audited, gRPC)", res);
    println!(
        "ratio Resolve/baseline: p50 {:.1}x, p99 {:.1}x",
        r50.as_secs_f64() / b50.as_secs_f64(),
        r99.as_secs_f64() / b99.as_secs_f64()
    );

    // Opening one secret.
    let kp =
        keyward_crypto::StaticKeyProvider::parse("1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U=")
            .unwrap();
    let aad = keyward_crypto::Aad::new(&org, "0190a0a0-0000-7000-8000-000000000000", "openai", 1);
    let plain = pb::SecretMaterial {
        api_key: format!("sk-proj-{:A<48}", 1),
        ..Default::default()
    };
    let plain = prost::Message::encode_to_vec(&plain);
    let sealed = keyward_crypto::seal(&kp, &aad, &plain).unwrap();
    let iters = 20_000u32;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(keyward_crypto::hmac_sha256(
            b"baseline-key",
            std::hint::black_box(&plain),
        ));
    }
    let hmac = t.elapsed() / iters;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(
            keyward_crypto::open(&kp, &aad, std::hint::black_box(&sealed)).unwrap(),
        );
    }
    let open = t.elapsed() / iters;
    println!(
        "baseline: HMAC-SHA256 of the plaintext       {:>8.2}µs",
        hmac.as_secs_f64() * 1e6
    );
    println!(
        "open one secret (unwrap DEK + decrypt)       {:>8.2}µs  ({:.1}x baseline)",
        open.as_secs_f64() * 1e6,
        open.as_secs_f64() / hmac.as_secs_f64()
    );
    token.cancel();
}
