//! Starts `keyward` as a child process with a config file of its own: fresh database, unique
//! broker namespace, free ports.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keyward_testkit::{TestDb, free_port, tempfile_dir::TempDir};

pub struct Ports {
    pub http: [u16; 6],
    pub grpc: [u16; 5],
}

impl Ports {
    pub fn new() -> Self {
        Self {
            http: std::array::from_fn(|_| free_port()),
            grpc: std::array::from_fn(|_| free_port()),
        }
    }
}

/// Where a test instance's dependencies are; either may point at a `Gate`.
pub struct Deps {
    pub database_url: String,
    pub broker_url: String,
}

pub struct Instance {
    pub child: Child,
    /// The instance's configuration file.
    pub config: PathBuf,
    pub ports: Ports,
    pub _dir: TempDir,
    pub log: PathBuf,
}

pub fn config_text(
    db: &TestDb,
    deps: &Deps,
    ports: &Ports,
    namespace: &str,
    spool: &str,
) -> String {
    let _ = db;
    // The dev configuration (secrets, keys, policies), with this instance's addresses,
    // database, broker namespace and spool.
    let repo = keyward_testkit::repo_root();
    let dev = std::fs::read_to_string(repo.join("config/dev.toml")).unwrap();
    let mut table: toml::Table = dev.parse().unwrap();
    let section = |t: &mut toml::Table, name: &str| -> toml::Table {
        t.get(name)
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default()
    };
    let mut database = section(&mut table, "database");
    database.insert("url".into(), deps.database_url.clone().into());
    table.insert("database".into(), database.into());
    let mut broker = section(&mut table, "broker");
    broker.insert("url".into(), deps.broker_url.clone().into());
    broker.insert("namespace".into(), namespace.into());
    broker.insert("spool_dir".into(), spool.into());
    table.insert("broker".into(), broker.into());
    let mut telemetry = toml::Table::new();
    telemetry.insert("format".into(), "json".into());
    telemetry.insert(
        "level".into(),
        "info,sqlx=warn,lapin=warn,amq_protocol=warn".into(),
    );
    table.insert("telemetry".into(), telemetry.into());
    let mut gateway = section(&mut table, "api_gateway");
    gateway.insert("http".into(), format!("127.0.0.1:{}", ports.http[0]).into());
    gateway.insert("workers".into(), 2.into());
    table.insert("api_gateway".into(), gateway.into());
    for (i, name) in ["vault", "usage_ingest", "cost", "alert", "audit"]
        .iter()
        .enumerate()
    {
        let mut svc = section(&mut table, name);
        svc.insert(
            "http".into(),
            format!("127.0.0.1:{}", ports.http[i + 1]).into(),
        );
        svc.insert("grpc".into(), format!("127.0.0.1:{}", ports.grpc[i]).into());
        svc.insert(
            "grpc_url".into(),
            format!("http://127.0.0.1:{}", ports.grpc[i]).into(),
        );
        table.insert((*name).into(), svc.into());
    }
    toml::to_string(&table).unwrap()
}

/// The database URL of a test database, optionally through another host:port.
pub fn database_url(db: &TestDb, via: Option<std::net::SocketAddr>) -> String {
    match via {
        Some(addr) => format!("postgres://{addr}/{}", db.name),
        None => format!("postgres://127.0.0.1:5432/{}", db.name),
    }
}

pub fn broker_url(via: Option<std::net::SocketAddr>) -> String {
    match via {
        Some(addr) => format!("amqp://guest:guest@{addr}/%2f"),
        None => "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
    }
}

pub fn start(db: &TestDb, deps: &Deps, args: &[&str]) -> Instance {
    let ports = Ports::new();
    let dir = TempDir::new();
    let namespace = format!("t{}", uuid_like());
    let spool = dir.path().join("spool");
    let cfg = config_text(db, deps, &ports, &namespace, spool.to_str().unwrap());
    let cfg_path = dir.path().join("keyward.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let log = dir.path().join("keyward.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("--config")
        .arg(&cfg_path)
        .args(args)
        .env_remove("KEYWARD_CONFIG")
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    Instance {
        child,
        config: cfg_path,
        ports,
        _dir: dir,
        log,
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

impl Instance {
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `limit` for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET a URL; (status, body). Connection errors count as status 0.
pub async fn get(url: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    match client.get(url).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

/// Waits until `url` answers `status`, returning the body.
pub async fn wait_for(url: &str, status: u16, timeout: Duration) -> Result<String, (u16, String)> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (s, body) = get(url).await;
        if s == status {
            return Ok(body);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err((s, body));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
