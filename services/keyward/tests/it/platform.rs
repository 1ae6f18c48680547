use std::time::{Duration, Instant};

use crate::harness::{Deps, broker_url, database_url, get, start, wait_for};

fn migrations() -> Vec<(keyward_core::ServiceName, &'static sqlx::migrate::Migrator)> {
    use keyward_core::ServiceName as S;
    vec![
        (S::ApiGateway, &keyward_api_gateway::MIGRATOR),
        (S::Vault, &keyward_vault::MIGRATOR),
        (S::Audit, &keyward_audit::MIGRATOR),
        (S::UsageIngest, &keyward_usage_ingest::MIGRATOR),
        (S::Cost, &keyward_cost::MIGRATOR),
        (S::Alert, &keyward_alert::MIGRATOR),
    ]
}

pub(crate) async fn empty_db() -> keyward_testkit::TestDb {
    // `keyward up` migrates by itself: start from an empty database.
    keyward_testkit::fresh_database(&[]).await
}

#[tokio::test]
async fn up_serves_ready_metrics_and_stops_cleanly_on_sigterm() {
    let db = empty_db().await;
    let deps = Deps {
        database_url: database_url(&db, None),
        broker_url: broker_url(None),
    };
    let started = Instant::now();
    let mut inst = start(&db, &deps, &["up"]);
    for port in inst.ports.http {
        let url = format!("http://127.0.0.1:{port}/readyz");
        let body = wait_for(&url, 200, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{url} not ready: {e:?}\n{}", inst.logs()));
        assert!(body.contains("\"status\":\"ready\""), "{body}");
        let (live, _) = get(&format!("http://127.0.0.1:{port}/livez")).await;
        assert_eq!(live, 200);
        let (status, metrics) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
        assert_eq!(status, 200);
        assert!(metrics.contains("# TYPE keyward_up gauge"), "{metrics}");
        assert!(metrics.contains("keyward_up{service="), "{metrics}");
    }
    assert!(started.elapsed() < Duration::from_secs(60));

    // The process started again under the same id with glibc's allocator tuned. (glibc splits
    // the variable at `:` in place while it reads it, so only its first setting is compared.)
    let environ = std::fs::read(format!("/proc/{}/environ", inst.child.id())).unwrap();
    let first = keyward_telemetry::malloc::GLIBC_TUNABLES
        .split(':')
        .next()
        .unwrap();
    let wanted = format!("GLIBC_TUNABLES={first}");
    assert!(
        environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()),
        "GLIBC_TUNABLES not set in the running process"
    );

    // Every service's gRPC health says SERVING.
    for port in inst.ports.grpc {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
        let resp = client
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(resp.get_ref().status, 1, "SERVING");
    }

    // Migrations ran into each service's own schema.
    let mut admin = db.admin().await;
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        schemas,
        ["alert", "audit", "cost", "identity", "usage", "vault"]
    );

    let t = Instant::now();
    let status = inst
        .terminate(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status:?}\n{}", inst.logs());
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(inst.logs().contains("stopped cleanly"));
    let _ = migrations();
}

#[tokio::test]
async fn bad_config_exits_64_with_a_clear_message() {
    let dir = keyward_testkit::tempfile_dir::TempDir::new();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[database]\nurl = \"postgres://127.0.0.1/x\"\n[vault]\nhttpx = 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["--config", path.to_str().unwrap(), "vault"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("configuration error"), "{err}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["--config", "/nonexistent/keyward.toml", "up"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/keyward.toml"));

    // An environment override with a bad value is named.
    let repo = keyward_testkit::repo_root();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "--config",
            repo.join("config/dev.toml").to_str().unwrap(),
            "check-config",
        ])
        .env("KEYWARD__INTERNAL__TOKENS__VAULT", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("internal.tokens.vault"));

    // The gateway refuses to start without its persistent secrets (other services don't need them).
    let dev = repo.join("config/dev.toml");
    let text = std::fs::read_to_string(&dev).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("vkey_pepper"))
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.path().join("no-pepper.toml");
    std::fs::write(&path, without).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["--config", path.to_str().unwrap(), "api-gateway"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("api_gateway.vkey_pepper"));
}

#[tokio::test]
async fn help_documents_every_command() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "up",
        "migrate",
        "api-gateway",
        "vault",
        "usage-ingest",
        "cost",
        "alert",
        "audit",
    ] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
}
