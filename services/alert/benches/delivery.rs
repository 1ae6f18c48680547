//! Alert benchmark against the real Postgres, RabbitMQ and vault (`make bench`, bench/alert.sh):
//! a domain event published (with broker confirm) → the signed webhook received, one event at a
//! time, then a burst. Baseline in the same run: the same signed POST made directly to the same
//! receiver (HTTP alone).

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::panic,
    reason = "benchmark program"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_core::ServiceName;
use keyward_proto::v1::{self as pb, domain_event::Payload};
use keyward_testkit::{TestPlatform, free_port};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p95, p99, max) = (pct(&v, 0.5), pct(&v, 0.95), pct(&v, 0.99), v[v.len() - 1]);
    println!(
        "{name:<44} n={:<5} p50={:>7.2}ms p95={:>7.2}ms p99={:>7.2}ms max={:>7.2}ms",
        v.len(),
        ms(p50),
        ms(p95),
        ms(p99),
        ms(max)
    );
    (p50, p99)
}

async fn receive(body: web::Bytes, arrivals: web::Data<Arrivals>) -> HttpResponse {
    let now = Instant::now();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let key = v["alert"]["labels"]["key_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    arrivals.lock().unwrap().insert(key, now);
    HttpResponse::Ok().body("ok")
}

async fn wait_ready(http: &str) {
    for _ in 0..400 {
        if let Ok(r) = reqwest::get(format!("http://{http}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{http} not ready");
}

async fn arrival(arrivals: &Arrivals, key: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(t) = arrivals.lock().unwrap().get(key) {
            return *t;
        }
        assert!(Instant::now() < deadline, "no delivery for {key}");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn event(org: &str, key: &str) -> pb::DomainEvent {
    pb::DomainEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: org.into(),
        payload: Some(Payload::KeyInvalid(pb::KeyInvalid {
            key_id: key.into(),
            provider: "openai".into(),
            outcome: "invalid".into(),
            reason: "401".into(),
        })),
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let mut tp = TestPlatform::new(&[
        (ServiceName::Vault, &keyward_vault::MIGRATOR),
        (ServiceName::Alert, &keyward_alert::MIGRATOR),
    ])
    .await;
    let token = tokio_util::sync::CancellationToken::new();
    let addrs = || {
        let (h, g) = (free_port(), free_port());
        (
            format!("127.0.0.1:{h}"),
            format!("127.0.0.1:{g}"),
            format!("http://127.0.0.1:{g}"),
        )
    };
    let (h, g, u) = addrs();
    let mut vault = keyward_vault::Config::with_addrs(&h, &g, &u);
    vault.kek = Some(
        "1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U="
            .to_string()
            .into(),
    );
    tp.platform
        .endpoints
        .insert("vault".into(), vault.grpc_url.clone());
    let (p, c, t) = (tp.platform.clone(), vault.clone(), token.clone());
    tokio::spawn(async move {
        keyward_vault::run(&p, &c, keyward_telemetry::Metrics::new().unwrap(), t).await
    });
    let (h, g, u) = addrs();
    // Production defaults, except that the bench's receiver listens on 127.0.0.1.
    let mut cfg = keyward_alert::Config::with_addrs(&h, &g, &u);
    cfg.allow_private_targets = true;
    let (p, c, t) = (tp.platform.clone(), cfg.clone(), token.clone());
    tokio::spawn(async move {
        keyward_alert::run(&p, &c, keyward_telemetry::Metrics::new().unwrap(), t).await
    });
    wait_ready(&vault.http).await;
    wait_ready(&cfg.http).await;

    let arrivals: Arrivals = Arc::default();
    let data = web::Data::new(arrivals.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(receive))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let hook = format!("http://{}/hook", server.addrs()[0]);
    tokio::spawn(server.run());

    let channel = tonic::transport::Channel::from_shared(cfg.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    let auth =
        keyward_telemetry::IdentityInjector::new(&tp.platform.internal, "api-gateway").unwrap();
    let mut client = pb::alert_service_client::AlertServiceClient::with_interceptor(channel, auth);
    let org = uuid::Uuid::now_v7().to_string();
    let secret = "whsec_bench_0123456789";
    client
        .create_channel(pb::CreateChannelRequest {
            channel: Some(pb::AlertChannel {
                org_id: org.clone(),
                name: "bench".into(),
                kind: "webhook".into(),
                ..Default::default()
            }),
            secrets: Some(pb::SecretMaterial {
                api_key: serde_json::json!({"url": hook, "signing_secret": secret}).to_string(),
                ..Default::default()
            }),
            meta: None,
        })
        .await
        .unwrap();

    let direct = Broker::new(&tp.platform.broker, "alert-bench", Vec::new());
    let (b, t) = (direct.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    direct
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let spool = Spool::open(&tp.platform.broker.spool_dir, "bench").unwrap();
    let (publisher, task) =
        Publisher::new(direct, spool, PublisherOptions::default(), token.clone());
    tokio::spawn(task);
    let publish = |ev: pb::DomainEvent| {
        let publisher = publisher.clone();
        async move {
            let kind = keyward_bus::events::domain_kind(&ev);
            publisher
                .publish_confirmed(keyward_bus::events::domain_message(kind, &ev))
                .await
                .unwrap();
        }
    };

    // Warm-up: the org's default rules, the channel secret from the vault, connections.
    for i in 0..20 {
        let key = format!("warm-{i}");
        publish(event(&org, &key)).await;
        arrival(&arrivals, &key).await;
    }

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let body =
        serde_json::to_vec(&serde_json::json!({"alert": {"labels": {"key_id": "baseline"}}}))
            .unwrap();
    let mut base = Vec::with_capacity(n);
    let mut e2e = Vec::with_capacity(n);
    for i in 0..n {
        let sig =
            keyward_alert::webhook::sign(secret.as_bytes(), chrono::Utc::now().timestamp(), &body);
        let t0 = Instant::now();
        let r = http
            .post(&hook)
            .header("x-keyward-signature", sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        base.push(t0.elapsed());

        let key = format!("seq-{i}");
        let t0 = Instant::now();
        publish(event(&org, &key)).await;
        e2e.push(arrival(&arrivals, &key).await - t0);
    }

    // A burst: n events published back to back, each timed from its own publish.
    let mut sent = Vec::with_capacity(n);
    let burst_start = Instant::now();
    for i in 0..n {
        let key = format!("burst-{i}");
        let t0 = Instant::now();
        publish(event(&org, &key)).await;
        sent.push((key, t0));
    }
    let published = burst_start.elapsed();
    let mut burst = Vec::with_capacity(n);
    for (key, t0) in &sent {
        burst.push(arrival(&arrivals, key).await - *t0);
    }
    let drained = burst_start.elapsed();

    println!(
        "machine: {} cores; n={n}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let (b50, b99) = summary("baseline: direct signed POST to the receiver", base);
    let (e50, e99) = summary("event -> webhook delivered (one at a time)", e2e);
    summary("event -> webhook delivered (burst)", burst);
    println!(
        "burst: {n} events published (confirmed, in order) in {:.0}ms, all delivered after {:.0}ms ({:.0} notifications/s)",
        published.as_secs_f64() * 1e3,
        drained.as_secs_f64() * 1e3,
        n as f64 / drained.as_secs_f64()
    );
    println!(
        "end-to-end minus baseline: p50 {:.2}ms, p99 {:.2}ms (goal: p99 <= 1000ms)",
        (e50.as_secs_f64() - b50.as_secs_f64()) * 1e3,
        (e99.as_secs_f64() - b99.as_secs_f64()) * 1e3
    );
    token.cancel();
}
