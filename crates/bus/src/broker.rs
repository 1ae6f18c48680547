//! A broker handle that keeps one AMQP connection alive, reconnecting with backoff.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::{Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::topology::QueueSpec;
use crate::{BrokerConfig, Error, Result, Topology, describe};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The largest AMQP frame this client proposes (RabbitMQ offers 128 KiB), unless the broker URL
/// sets `frame_max`. lapin keeps send and receive buffers of 32 frames each, written through, so
/// 128 KiB frames cost 8 MiB of resident memory per connection, 32 KiB frames 2 MiB. Larger
/// messages (a batch of 500 usage events is ~75 KB) go out in several frames.
const FRAME_MAX: u32 = 32 * 1024;

/// A cheap, cloneable handle to the process's broker connection.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    url: SecretString,
    name: String,
    topology: Topology,
    conn: watch::Sender<Option<Arc<Connection>>>,
    queues: Vec<QueueSpec>,
    last_error: Mutex<String>,
}

impl Broker {
    /// A handle that is not connected yet; [`Broker::run`] connects and keeps it connected.
    /// `queues` are declared (with their dead-letter queues) on every connect.
    pub fn new(cfg: &BrokerConfig, connection_name: &str, queues: Vec<QueueSpec>) -> Self {
        let (conn, _) = watch::channel(None);
        Self {
            inner: Arc::new(Inner {
                url: cfg.url.clone(),
                name: connection_name.to_string(),
                topology: Topology::new(&cfg.namespace),
                conn,
                queues,
                last_error: Mutex::new("not connected yet".into()),
            }),
        }
    }

    /// Names of exchanges and queues for this deployment.
    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.inner
            .conn
            .borrow()
            .as_ref()
            .is_some_and(|c| c.status().connected())
    }

    /// `Ok` when connected, else why not (for `/readyz`).
    pub fn check(&self) -> Result<(), String> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(self
                .inner
                .last_error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_else(|_| "unavailable".into()))
        }
    }

    /// A readiness check for this broker.
    pub fn check_fn(
        &self,
    ) -> impl Fn() -> std::future::Ready<Result<(), String>> + Send + Sync + 'static {
        let b = self.clone();
        move || std::future::ready(b.check())
    }

    /// The current connection, if any.
    pub fn connection(&self) -> Option<Arc<Connection>> {
        self.inner
            .conn
            .borrow()
            .as_ref()
            .filter(|c| c.status().connected())
            .cloned()
    }

    /// Waits up to `timeout` for a connection.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<Arc<Connection>> {
        let mut rx = self.inner.conn.subscribe();
        let wait = async {
            loop {
                if let Some(c) = rx
                    .borrow_and_update()
                    .as_ref()
                    .filter(|c| c.status().connected())
                {
                    return Ok(c.clone());
                }
                if rx.changed().await.is_err() {
                    return Err(Error::Stopped);
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => Err(Error::Unavailable(self.check().err().unwrap_or_default())),
        }
    }

    /// Subscribes to connection changes.
    pub fn watch(&self) -> watch::Receiver<Option<Arc<Connection>>> {
        self.inner.conn.subscribe()
    }

    fn set_error(&self, message: String) {
        if let Ok(mut e) = self.inner.last_error.lock() {
            *e = message;
        }
    }

    /// Connects, declares the exchanges, and reconnects whenever the connection drops, until
    /// `shutdown`. Never fails on an unreachable broker: it keeps trying and `/readyz` says so.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<()> {
        let mut backoff = Duration::from_millis(200);
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            match self.connect_once().await {
                Ok(conn) => {
                    backoff = Duration::from_millis(200);
                    tracing::info!(connection = %self.inner.name, "connected to broker");
                    self.inner.conn.send_replace(Some(conn.clone()));
                    // Watch the connection until it drops or we are asked to stop.
                    loop {
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(Duration::from_millis(250)) => {}
                        }
                        if !conn.status().connected() {
                            break;
                        }
                    }
                    self.inner.conn.send_replace(None);
                    if shutdown.is_cancelled() {
                        let _closed = conn.close(200, "shutdown".into()).await;
                        break;
                    }
                    self.set_error("connection lost".into());
                    tracing::warn!(connection = %self.inner.name, "broker connection lost; reconnecting");
                }
                Err(message) => {
                    tracing::debug!(connection = %self.inner.name, error = %message, "broker connect failed");
                    self.set_error(message);
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        Ok(())
    }

    async fn connect_once(&self) -> Result<Arc<Connection>, String> {
        let props =
            ConnectionProperties::default().with_connection_name(self.inner.name.clone().into());
        // Never echo the URL: it holds the password.
        let mut uri: lapin::uri::AMQPUri = self
            .inner
            .url
            .expose_secret()
            .parse()
            .map_err(|_| "the broker URL is not a valid amqp:// or amqps:// URL".to_string())?;
        if uri.query.frame_max.is_none() {
            uri.query.frame_max = Some(FRAME_MAX);
        }
        let conn = match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect_uri(uri, props))
            .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(format!("unreachable ({})", describe(&e))),
            Err(_) => return Err("unreachable (connect timed out)".into()),
        };
        let ch = conn.create_channel().await.map_err(|e| describe(&e))?;
        self.inner
            .topology
            .declare_exchanges(&ch)
            .await
            .map_err(|e| format!("declaring exchanges failed: {}", describe(&e)))?;
        for q in &self.inner.queues {
            self.inner
                .topology
                .declare_queue(&ch, q)
                .await
                .map_err(|e| format!("declaring queue {} failed: {}", q.name, describe(&e)))?;
        }
        let _closed = ch.close(200, "topology declared".into()).await;
        Ok(Arc::new(conn))
    }
}
