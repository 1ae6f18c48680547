//! Roles, schemas and migrations against the real PostgreSQL.

use keyward_core::ServiceName;

static DEMO: sqlx::migrate::Migrator = sqlx::migrate!("tests/it/migrations");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_converge_and_are_idempotent() {
    let db = keyward_testkit::fresh_database(&[]).await;
    let cfg = db.cfg.clone();
    let runs: &[(ServiceName, &sqlx::migrate::Migrator)] = &[(ServiceName::Cost, &DEMO)];
    // Three migrators at once (as three pods starting together), then once more.
    let (a, b, c) = tokio::join!(
        keyward_db::migrate_all(&cfg, runs),
        keyward_db::migrate_all(&cfg, runs),
        keyward_db::migrate_all(&cfg, runs)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    keyward_db::migrate_all(&cfg, runs).await.unwrap();
    let pool = db.pool(ServiceName::Cost).await;
    // The migration table and the demo table live in the service's own schema.
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM cost._sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, 1);
    let owner: String = sqlx::query_scalar(
        "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'cost' AND tablename = 'demo'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(owner, "keyward_cost");
}

#[tokio::test]
async fn timescale_detection_reports_this_server() {
    let db = keyward_testkit::fresh_database(&[]).await;
    let pool = db.pool(ServiceName::UsageIngest).await;
    let available = keyward_db::timescale_available(&pool).await.unwrap();
    let installed = keyward_db::timescale_installed(&pool).await.unwrap();
    // Debian's PostgreSQL has no TimescaleDB; the detection must say so rather than guess.
    let on_disk = std::path::Path::new("/usr/share/postgresql")
        .read_dir()
        .map(|d| {
            d.flatten()
                .any(|v| v.path().join("extension/timescaledb.control").exists())
        });
    assert_eq!(available, on_disk.unwrap_or(false));
    assert!(!installed || available);
}

#[tokio::test]
async fn missing_passwords_and_bad_urls_are_named() {
    let db = keyward_testkit::fresh_database(&[]).await;
    let mut cfg = db.cfg.clone();
    cfg.passwords.remove("vault");
    let err = keyward_db::validate(&cfg).unwrap_err().to_string();
    assert!(
        err.contains("keyward_vault") && err.contains("database.passwords.vault"),
        "{err}"
    );
    cfg.url = "mysql://nope".into();
    let err = keyward_db::validate(&cfg).unwrap_err().to_string();
    assert!(err.contains("database url"), "{err}");
}
