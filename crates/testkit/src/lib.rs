//! Test support against the real servers: a fresh database per test, unique broker names per
//! test, a TCP gate to simulate outages, and (in `mock_providers`) local mock LLM providers.
//!
//! Configuration comes from `config/dev.toml` (the same file `make run` uses) plus `KEYWARD__…`
//! environment overrides, so tests and the dev instance agree on role passwords.

#![expect(
    clippy::expect_used,
    reason = "test support: a broken environment should fail loudly"
)]

pub mod gate;
pub mod mock_providers;

use std::collections::BTreeMap;
use std::path::PathBuf;

use keyward_core::ServiceName;
use keyward_core::settings::{BrokerConfig, DatabaseConfig, InternalConfig, TelemetryConfig};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection};

pub use gate::Gate;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Deserialize)]
struct DevConfig {
    database: DatabaseConfig,
    broker: BrokerConfig,
    internal: InternalConfig,
}

fn dev_config() -> DevConfig {
    let path = repo_root().join("config/dev.toml");
    let env: BTreeMap<String, String> = keyward_core::config::process_env();
    // The dev file has per-service sections these tests don't need; read only the shared ones.
    let text = std::fs::read_to_string(&path).expect("config/dev.toml is readable");
    let mut table: toml::Table = text.parse().expect("config/dev.toml is TOML");
    table.retain(|k, _| ["database", "broker", "internal"].contains(&k));
    let tmp = std::env::temp_dir().join(format!("kw-testcfg-{}.toml", uuid::Uuid::now_v7()));
    std::fs::write(&tmp, toml::to_string(&table).expect("serializes"))
        .expect("temp config written");
    let env: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("KEYWARD__DATABASE__")
                || k.starts_with("KEYWARD__BROKER__")
                || k.starts_with("KEYWARD__INTERNAL__")
        })
        .collect();
    let cfg = keyward_core::config::load(Some(&tmp), &env).expect("dev config loads");
    let _removed = std::fs::remove_file(&tmp);
    cfg
}

/// A database made for one test, migrated, and dropped when the test's process ends cleanly
/// (stale ones from crashed runs are dropped by later runs).
pub struct TestDb {
    pub name: String,
    pub cfg: DatabaseConfig,
}

impl TestDb {
    /// A pool connected as `service`'s own role.
    pub async fn pool(&self, service: ServiceName) -> sqlx::PgPool {
        let opts = keyward_db::service_options(&self.cfg, service).expect("service options");
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(5)
            .connect_with(opts)
            .await
            .expect("service role connects")
    }

    /// A connection as the admin (superuser in dev), for tampering tests.
    pub async fn admin(&self) -> PgConnection {
        PgConnection::connect_with(&keyward_db::admin_options(&self.cfg).expect("admin options"))
            .await
            .expect("admin connects")
    }
}

/// Creates a fresh database and applies `migrations` to it, as the real `keyward migrate` does.
pub async fn fresh_database(migrations: &[(ServiceName, &Migrator)]) -> TestDb {
    let base = dev_config().database;
    let name = format!("kwt_{}", uuid::Uuid::now_v7().simple());
    let mut admin =
        PgConnection::connect_with(&keyward_db::admin_options(&base).expect("admin options"))
            .await
            .expect("admin connects to the dev database (run `make setup`)");
    drop_stale(&mut admin).await;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let cfg = keyward_db::with_database(&base, &name);
    keyward_db::migrate_all(&cfg, migrations)
        .await
        .expect("migrations apply");
    TestDb { name, cfg }
}

/// Drops test databases older than 30 minutes (left behind by killed runs).
async fn drop_stale(admin: &mut PgConnection) {
    let cutoff = uuid::Uuid::now_v7()
        .get_timestamp()
        .map(|t| t.to_unix().0.saturating_sub(1800))
        .unwrap_or(0);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'kwt\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let Some(id) = name
            .strip_prefix("kwt_")
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let old = id
            .get_timestamp()
            .map(|t| t.to_unix().0 < cutoff)
            .unwrap_or(false);
        if old {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// A broker config with a namespace unique to this test and its own spool directory.
pub fn broker_config() -> (BrokerConfig, tempfile_dir::TempDir) {
    let mut cfg = dev_config().broker;
    cfg.namespace = format!("t{}", uuid::Uuid::now_v7().simple());
    let dir = tempfile_dir::TempDir::new();
    cfg.spool_dir = dir.path().to_path_buf();
    (cfg, dir)
}

/// The internal service tokens of the dev config.
pub fn internal_config() -> InternalConfig {
    dev_config().internal
}

/// A platform for one test: a fresh database, a unique broker namespace.
pub struct TestPlatform {
    pub db: TestDb,
    pub platform: keyward_core::settings::Platform,
    _spool: tempfile_dir::TempDir,
}

impl TestPlatform {
    /// Fresh database with `migrations`, unique broker namespace.
    pub async fn new(migrations: &[(ServiceName, &Migrator)]) -> Self {
        let db = fresh_database(migrations).await;
        let (broker, spool) = broker_config();
        let platform = keyward_core::settings::Platform {
            database: db.cfg.clone(),
            broker,
            internal: internal_config(),
            telemetry: TelemetryConfig::default(),
            endpoints: BTreeMap::new(),
        };
        Self {
            db,
            platform,
            _spool: spool,
        }
    }
}

/// The platform of a test database another process made with [`TestPlatform::new`] (its
/// `db.name` and broker namespace), for a second process of the same test or bench. The
/// database stays the other process's to drop; the spool directory is this one's own.
pub fn attached_platform(
    db_name: &str,
    namespace: &str,
) -> (keyward_core::settings::Platform, tempfile_dir::TempDir) {
    let (mut broker, spool) = broker_config();
    broker.namespace = namespace.to_owned();
    let platform = keyward_core::settings::Platform {
        database: keyward_db::with_database(&dev_config().database, db_name),
        broker,
        internal: internal_config(),
        telemetry: TelemetryConfig::default(),
        endpoints: BTreeMap::new(),
    };
    (platform, spool)
}

/// Where [`free_port`] hands out ports: below Linux's ephemeral range (32768–60999 by default),
/// so that a port found free is not taken, before the server binds it, as the local port of some
/// outgoing connection (a pooled PostgreSQL or AMQP connection of a test running beside).
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free TCP port on 127.0.0.1, never the same twice in one process.
///
/// Each process walks [`TEST_PORTS`] from its own random start and skips ports that are in use,
/// so tests running side by side rarely even try the same port, and a port handed out is not
/// handed out again to the same test (asking the kernel for port 0 can give one just closed).
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static START: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    let start = *START.get_or_init(|| {
        let seed = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
        (seed % u64::from(span)) as u32
    });
    (0..span)
        .find_map(|_| {
            let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
            let port = TEST_PORTS.start + offset as u16;
            std::net::TcpListener::bind(("127.0.0.1", port))
                .is_ok()
                .then_some(port)
        })
        .expect("a free port in 127.0.0.1:20000..32000")
}

/// A minimal temporary directory (removed on drop) so testkit needs no extra crate.
pub mod tempfile_dir {
    use std::path::{Path, PathBuf};

    /// Removed with its contents on drop.
    pub struct TempDir(PathBuf);

    impl TempDir {
        /// A new empty directory under the system temp dir.
        pub fn new() -> Self {
            let p = std::env::temp_dir()
                .join(format!("keyward-test-{}", uuid::Uuid::now_v7().simple()));
            std::fs::create_dir_all(&p).expect("temp dir");
            Self(p)
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Default for TempDir {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: std::time::Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
