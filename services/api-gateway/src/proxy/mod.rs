//! The LLM proxy (`/v1/*`): OpenAI-shaped `chat/completions`, `responses`, `embeddings` and
//! `models`, and Anthropic-shaped `messages`, authenticated by virtual keys.
//!
//! The hot path (see `docs/proxy.md`): virtual key from memory → org model alias (memory) →
//! allow-lists → RPM/TPM buckets →
//! budget reservation → provider key from the vault (cached) → upstream through
//! `keyward_providers` with failover and a circuit breaker per provider key → one usage event on
//! the publisher's batcher. In steady state nothing on it touches Postgres or the network besides
//! the upstream itself.

pub mod aliases;
pub mod breaker;
pub mod budget;
pub mod catalog;
pub mod cost_budgets;
pub mod events;
mod handler;
pub mod limits;
mod meter;
mod reply;
pub mod routing;
pub mod secrets;
pub mod vkeys;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use keyward_bus::Publisher;
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_pricing::PriceBook;
use keyward_providers::UpstreamClient;

use crate::auth::Keys;
use crate::state::AppState;

pub use breaker::{BreakerConfig, Breakers, Circuit};
pub use budget::{Budget, BudgetLevel, BudgetScope, BudgetSource, InMemoryBudgets};
pub use cost_budgets::{CostBudgets, FeedOptions};

/// Largest accepted request body on `/v1/*` (prompts with images are big).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// Proxy settings (defaults suit production; tests shorten the timers).
#[derive(Clone)]
pub struct Options {
    /// Where hard and soft budgets come from. `None` (the default): the cost service's budgets
    /// ([`CostBudgets`]) when `cost.grpc_url` is configured, else none are enforced.
    pub budgets: Option<Arc<dyn BudgetSource>>,
    /// Timers of the cost service feed.
    pub budget_feed: FeedOptions,
    /// Safety-net TTL of a cached virtual key (events invalidate it sooner).
    pub vkey_ttl: Duration,
    /// TTL of a cached provider secret.
    pub secret_ttl: Duration,
    /// Safety-net TTL of an org's cached model aliases (events invalidate them sooner).
    pub alias_ttl: Duration,
    /// Upstream attempts per request (primary + fallbacks).
    pub max_attempts: usize,
    pub breaker: BreakerConfig,
    /// Until the upstream's response headers (and, non-streaming, its whole body).
    pub upstream_timeout: Duration,
    /// Longest silence between two chunks of a stream.
    pub stream_idle_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            budgets: None,
            budget_feed: FeedOptions::default(),
            vkey_ttl: Duration::from_secs(60),
            secret_ttl: Duration::from_secs(60),
            alias_ttl: Duration::from_secs(60),
            max_attempts: 3,
            breaker: BreakerConfig::default(),
            upstream_timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Everything the proxy routes share.
pub struct ProxyState {
    pub(crate) vkeys: vkeys::VkeyCache,
    pub(crate) limiter: limits::Limiter,
    pub(crate) secrets: secrets::SecretCache,
    pub(crate) catalog: catalog::Catalog,
    pub(crate) aliases: aliases::AliasCache,
    /// Budgets in force (shared with the feed that updates them).
    pub budgets: Arc<dyn BudgetSource>,
    /// Circuit breakers per provider key.
    pub breakers: Breakers,
    keys: Arc<Keys>,
    publisher: Publisher,
    /// The upstream client built at start-up; each HTTP worker thread uses a copy with a pool of
    /// its own ([`ProxyState::http`]).
    http: UpstreamClient,
    http_per_thread: thread_local::ThreadLocal<UpstreamClient>,
    trust_forwarded_for: bool,
    opts: Options,
}

impl ProxyState {
    /// Builds the proxy next to the REST app's state (same pool, pepper and publisher). Also
    /// returns the cost service's budget feed when it is the budget source: its task must run
    /// ([`CostBudgets::run`]).
    ///
    /// # Errors
    /// A configuration problem: no vault endpoint or internal token, an unloadable price book.
    pub fn new(
        platform: &Platform,
        app: &AppState,
        opts: Options,
    ) -> Result<(Arc<Self>, Option<Arc<CostBudgets>>), String> {
        // The REST API's vault client (one channel for both).
        let _ = platform.endpoint(ServiceName::Vault)?;
        let vault = app.vault.clone();
        let book = PriceBook::builtin().map_err(|e| format!("price book: {e}"))?;
        let http = UpstreamClient::new().map_err(|e| format!("upstream client: {e}"))?;
        let (budgets, feed): (Arc<dyn BudgetSource>, _) =
            match (&opts.budgets, app.upstreams.cost()) {
                (Some(b), _) => (b.clone(), None),
                (None, Ok(client)) => {
                    let feed = CostBudgets::new(client, instance_name(), opts.budget_feed.clone());
                    (feed.clone(), Some(feed))
                }
                (None, Err(_)) => {
                    tracing::warn!("no cost service configured: budgets are not enforced");
                    (Arc::new(InMemoryBudgets::default()), None)
                }
            };
        let state = Arc::new(Self {
            vkeys: vkeys::VkeyCache::new(app.pool.clone(), opts.vkey_ttl),
            limiter: limits::Limiter::default(),
            secrets: secrets::SecretCache::new(vault, opts.secret_ttl),
            catalog: catalog::Catalog::new(book),
            aliases: aliases::AliasCache::new(app.pool.clone(), opts.alias_ttl),
            budgets,
            breakers: Breakers::new(opts.breaker),
            keys: app.keys.clone(),
            publisher: app.publisher.clone(),
            http,
            http_per_thread: thread_local::ThreadLocal::new(),
            trust_forwarded_for: app.trust_forwarded_for,
            opts,
        });
        Ok((state, feed))
    }

    /// The upstream client of the calling thread. Every HTTP worker has a connection pool of
    /// its own: a connection's task runs on the worker that opened it, so a request never
    /// hands its upstream I/O to another thread (one shared pool cost two cross-thread wake-ups
    /// and contended allocator locks per request). The TLS set-up and the proxy settings are
    /// the start-up client's, shared.
    fn http(&self) -> &UpstreamClient {
        self.http_per_thread.get_or(|| self.http.with_own_pool())
    }
}

/// This replica's name in reservation reports: the host (pod) name plus a per-process suffix,
/// so a restarted process never inherits its predecessor's report (that one expires by TTL).
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "api-gateway".to_owned());
    let id = uuid::Uuid::now_v7().simple().to_string();
    let tail = id.get(id.len().saturating_sub(8)..).unwrap_or_default();
    format!("{host}-{tail}")
}

/// Registers `/v1/*` with its own body limit.
pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<ProxyState>) {
    cfg.service(
        web::scope("/v1")
            .app_data(web::Data::from(state))
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/chat/completions", web::post().to(handler::chat))
            .route("/embeddings", web::post().to(handler::embeddings))
            .route("/messages", web::post().to(handler::messages))
            .route("/responses", web::post().to(handler::responses))
            .route("/models", web::get().to(handler::models)),
    );
}
