//! The LLM proxy under load (`bench/proxy.sh` drives it with `oha`). Two modes:
//!
//! - `proxy mock PORT`: a minimal OpenAI-compatible upstream (`POST /v1/chat/completions` →
//!   a fixed completion with usage; checks the bearer key), the baseline.
//! - `proxy gateway MOCK_URL`: a fresh database, the real vault and cost services and a
//!   consumer of the usage queue (acks and discards, so the publisher's confirms are real) in
//!   this process, and the real gateway (release build, one HTTP worker per core) in a child
//!   process of its own (`proxy gateway-only`, so its memory can be measured alone), with an
//!   org, a provider key pointing at `MOCK_URL`, a virtual key with RPM/TPM limits and a hard
//!   org budget from the cost service. Prints `URL=…`, `KEY=…`, `PID=…` (the gateway's) and
//!   `READY`, then serves until SIGINT. With `KW_BENCH_LOG=FILE` the gateway logs as in
//!   production (JSON lines at `info`, an access-log line per request) into `FILE`.
//! - `proxy bare MOCK_URL`: the floor of the stack: the gateway's HTTP server (actix-web) and
//!   upstream client, forwarding to `MOCK_URL` with none of Keyward's work in between.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "benchmark program"
)]

use std::process::{Child, Command};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use keyward_bus::topology::USAGE_INGEST;
use keyward_bus::{Broker, ConsumerOptions, Handled, Message, consume};
use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use keyward_providers::{UpstreamClient, UpstreamRequest};
use keyward_telemetry::IdentityInjector;
use keyward_testkit::{TestPlatform, attached_platform, free_port};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The allocator of the `keyward` binary, so the gateway process measures as it runs in production.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const UPSTREAM_KEY: &str = "sk-proj-benchFAKEbenchFAKEbenchFAKEbenchFAKEbenchFAKE00";
const KEK: &str = "1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U=";
const PASSWORD: &str = "correct horse battery staple 42";

const COMPLETION: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench mock."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;

async fn chat(req: HttpRequest, _body: web::Bytes) -> HttpResponse {
    let ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.strip_prefix("Bearer ") == Some(UPSTREAM_KEY));
    if !ok {
        return HttpResponse::Unauthorized()
            .content_type("application/json")
            .body(r#"{"error":{"message":"bad key","type":"invalid_request_error"}}"#);
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body(COMPLETION)
}

fn mock(port: u16) -> std::io::Result<()> {
    let workers = std::env::var("KW_BENCH_MOCK_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    actix_web::rt::System::new().block_on(
        HttpServer::new(|| App::new().route("/v1/chat/completions", web::post().to(chat)))
            .workers(workers)
            .bind(("127.0.0.1", port))?
            .run(),
    )
}

thread_local! {
    /// The bare forwarder's upstream client: one pool per HTTP worker, as the gateway's.
    static BARE_HTTP: UpstreamClient = UpstreamClient::new().unwrap();
}

/// The bare forwarder's one route: the body, as it came, to `MOCK_URL` with the mock's key;
/// the answer's status and body back. No auth, limits, budget, metering, logging or middleware.
async fn bare_chat(body: web::Bytes, upstream: web::Data<http::Uri>) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&format!("Bearer {UPSTREAM_KEY}")).unwrap(),
    );
    let request = UpstreamRequest {
        method: http::Method::POST,
        uri: upstream.get_ref().clone(),
        headers,
        body,
    };
    let client = BARE_HTTP.with(UpstreamClient::clone);
    match client.send(request).await {
        Ok(resp) => {
            let status = actix_web::http::StatusCode::from_u16(resp.status.as_u16()).unwrap();
            match resp.bytes().await {
                Ok(b) => HttpResponse::build(status)
                    .content_type("application/json")
                    .body(b),
                Err(_) => HttpResponse::BadGateway().finish(),
            }
        }
        Err(_) => HttpResponse::BadGateway().finish(),
    }
}

/// `proxy bare MOCK_URL`: the stack's floor. The same HTTP server (actix-web, one worker per
/// core) and upstream client (`keyward_providers::UpstreamClient`, a pool per worker) as the
/// gateway, forwarding to the mock with nothing of Keyward in between. Prints `URL=`, `PID=`
/// and `READY`.
fn bare(mock_url: &str) -> std::io::Result<()> {
    let upstream: http::Uri = format!("{mock_url}/v1/chat/completions").parse().unwrap();
    let workers = std::env::var("KW_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let port = free_port();
    let upstream = web::Data::new(upstream);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(upstream.clone())
                .route("/v1/chat/completions", web::post().to(bare_chat))
        })
        .workers(workers)
        .bind(("127.0.0.1", port))?
        .run();
        println!("URL=http://127.0.0.1:{port}");
        println!("PID={}", std::process::id());
        println!("READY");
        server.await
    })
}

fn channel(tp: &TestPlatform, url: &str) -> InterceptedService<Channel, IdentityInjector> {
    InterceptedService::new(
        Channel::from_shared(url.to_string())
            .unwrap()
            .connect_lazy(),
        IdentityInjector::new(&tp.platform.internal, "api-gateway").unwrap(),
    )
}

async fn wait_ok(http: &reqwest::Client, url: &str) {
    for _ in 0..400 {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became ready");
}

fn gateway_config(port: u16) -> keyward_api_gateway::Config {
    let mut cfg = keyward_api_gateway::Config::with_http(&format!("127.0.0.1:{port}"));
    cfg.jwt_secret = Some("bench-jwt-secret-0123456789abcdef0123456789".into());
    cfg.vkey_pepper = Some("bench-vkey-pepper-0123456789abcdef012345678".into());
    cfg.totp_key = Some("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into());
    cfg.auth.policy_poll_ms = 100;
    // `api_gateway.workers` (default: one per core), for experiments.
    cfg.workers = std::env::var("KW_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok());
    cfg
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// The gateway alone, on the platform the parent process made (`KW_BENCH_*` variables).
async fn gateway_only() {
    let (mut platform, _spool) = attached_platform(&env("KW_BENCH_DB"), &env("KW_BENCH_NS"));
    platform
        .endpoints
        .insert("vault".into(), env("KW_BENCH_VAULT"));
    platform
        .endpoints
        .insert("cost".into(), env("KW_BENCH_COST"));
    let cfg = gateway_config(env("KW_BENCH_PORT").parse().unwrap());
    // KW_BENCH_LOG: log as production does (JSON lines at `info`, one access-log line per
    // request, redacted) to the file the parent gave as stdout.
    let _logs = std::env::var_os("KW_BENCH_LOG").map(|_| {
        keyward_telemetry::init(&keyward_telemetry::TelemetryConfig {
            format: keyward_telemetry::LogFormat::Json,
            ..Default::default()
        })
        .unwrap()
    });
    let shutdown = CancellationToken::new();
    let t = shutdown.clone();
    tokio::spawn(async move {
        tokio::signal::ctrl_c().await.unwrap();
        t.cancel();
    });
    let m = keyward_telemetry::Metrics::new().unwrap();
    keyward_api_gateway::run(&platform, &cfg, m, shutdown)
        .await
        .unwrap();
}

/// Stops the gateway process when the bench ends (also on a panic).
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn gateway(mock_url: String) {
    let mut tp = TestPlatform::new(&[
        (ServiceName::ApiGateway, &keyward_api_gateway::MIGRATOR),
        (ServiceName::Vault, &keyward_vault::MIGRATOR),
        (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (ServiceName::Cost, &keyward_cost::MIGRATOR),
    ])
    .await;
    let shutdown = CancellationToken::new();
    let http = reqwest::Client::new();

    // The vault and the cost service.
    let (vh, vg, ch, cg) = (free_port(), free_port(), free_port(), free_port());
    let vault_url = format!("http://127.0.0.1:{vg}");
    let mut vcfg = keyward_vault::Config::with_addrs(
        &format!("127.0.0.1:{vh}"),
        &format!("127.0.0.1:{vg}"),
        &vault_url,
    );
    vcfg.kek = Some(KEK.to_string().into());
    let (p, t) = (tp.platform.clone(), shutdown.clone());
    tokio::spawn(async move {
        let m = keyward_telemetry::Metrics::new().unwrap();
        keyward_vault::run(&p, &vcfg, m, t).await
    });
    let cost_url = format!("http://127.0.0.1:{cg}");
    let ccfg = keyward_cost::Config::with_addrs(
        &format!("127.0.0.1:{ch}"),
        &format!("127.0.0.1:{cg}"),
        &cost_url,
    );
    let (p, t) = (tp.platform.clone(), shutdown.clone());
    tokio::spawn(async move {
        let m = keyward_telemetry::Metrics::new().unwrap();
        keyward_cost::run(&p, &ccfg, m, t).await
    });
    wait_ok(&http, &format!("http://127.0.0.1:{vh}/readyz")).await;
    wait_ok(&http, &format!("http://127.0.0.1:{ch}/readyz")).await;
    tp.platform
        .endpoints
        .insert("vault".into(), vault_url.clone());
    tp.platform
        .endpoints
        .insert("cost".into(), cost_url.clone());

    // The usage queue, drained (what usage-ingest would consume).
    let broker = Broker::new(&tp.platform.broker, "proxy-bench-usage", vec![USAGE_INGEST]);
    let (b, t) = (broker.clone(), shutdown.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .unwrap();
    tokio::spawn(consume(
        broker,
        USAGE_INGEST,
        ConsumerOptions::default(),
        shutdown.clone(),
        |_batch: Vec<Message>| async { Ok::<_, String>(Handled::Commit) },
    ));

    // The gateway, in its own process.
    let port = free_port();
    let cfg = gateway_config(port);
    // KW_BENCH_GATEWAY_WRAPPER runs it under a profiler (`heaptrack`, `perf record -g --`…).
    let exe = std::env::current_exe().unwrap();
    let wrapper = std::env::var("KW_BENCH_GATEWAY_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    if let Some(path) = std::env::var_os("KW_BENCH_LOG") {
        command.stdout(std::fs::File::create(path).unwrap());
    }
    let child = command
        .arg("gateway-only")
        .env("KW_BENCH_DB", &tp.db.name)
        .env("KW_BENCH_NS", &tp.platform.broker.namespace)
        .env("KW_BENCH_VAULT", &vault_url)
        .env("KW_BENCH_COST", &cost_url)
        .env("KW_BENCH_PORT", port.to_string())
        .spawn()
        .unwrap();
    let gateway = Reap(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_ok(&http, &format!("{base}/livez")).await;

    // An org, its owner, a provider key at the mock, a limited virtual key, a hard budget.
    let b = keyward_api_gateway::admin::bootstrap(
        &tp.platform,
        &cfg,
        None,
        "Bench Co",
        "owner@bench.test",
        PASSWORD.to_string().into(),
    )
    .await
    .unwrap();
    let org = b.org_id.to_string();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "owner@bench.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().unwrap().to_string();
    let mut vault = pb::vault_service_client::VaultServiceClient::new(channel(&tp, &vault_url));
    vault
        .store(pb::StoreKeyRequest {
            name: "bench".into(),
            provider: "openai".into(),
            scope: Some(pb::Scope {
                org_id: org.clone(),
                ..Default::default()
            }),
            kind: pb::SecretKind::ProviderKey as i32,
            secret: Some(pb::SecretMaterial {
                api_key: UPSTREAM_KEY.into(),
                ..Default::default()
            }),
            base_url: Some(format!("{mock_url}/v1")),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut cost = pb::cost_service_client::CostServiceClient::new(channel(&tp, &cost_url));
    cost.create_budget(pb::Budget {
        scope: Some(pb::Scope {
            org_id: org.clone(),
            ..Default::default()
        }),
        name: "bench cap".into(),
        period: "month".into(),
        amount: Some(pb::Money {
            micros: 1_000_000_000_000,
        }),
        hard: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut key = None;
    for _ in 0..100 {
        let r = http
            .post(format!("{base}/api/v1/virtual-keys"))
            .bearer_auth(&access)
            .json(&json!({"name": "bench", "rpm": 100_000_000, "tpm": 2_000_000_000}))
            .send()
            .await
            .unwrap();
        if r.status() == 201 {
            let v: Value = r.json().await.unwrap();
            key = Some(v["key"].as_str().unwrap().to_string());
            break;
        }
        // The policy poller has not seen the new owner yet.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let key = key.expect("virtual key not created");
    let r = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "gpt-4o-mini", "max_tokens": 16,
            "messages": [{"role": "user", "content": "Say hello."}]}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "warm-up request: {text}");
    println!("URL={base}");
    println!("KEY={key}");
    println!("PID={}", gateway.0.id());
    println!("READY");
    tokio::signal::ctrl_c().await.unwrap();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("mock") => {
            let port = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(18_080);
            mock(port).unwrap();
        }
        Some("gateway-only") => {
            // As the `keyward` binary does for its services.
            if let Some(e) = keyward_telemetry::malloc::tune() {
                panic!("allocator tuning: {e}");
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(gateway_only())
        }
        Some("gateway") => {
            let mock_url = args
                .get(1)
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1:18080".into());
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(gateway(mock_url));
        }
        Some("bare") => {
            let mock_url = args.get(1).map_or("http://127.0.0.1:18080", String::as_str);
            bare(mock_url).unwrap();
        }
        _ => println!(
            "usage: proxy mock PORT | proxy gateway MOCK_URL | proxy bare MOCK_URL (see bench/proxy.sh)"
        ),
    }
}
