//! Local mock LLM providers: one actix-web server on `127.0.0.1:0` that answers in each
//! provider's real wire format, so tests never reach the internet.
//!
//! Every provider lives under its id: `http://127.0.0.1:PORT/openai/v1/models`,
//! `…/anthropic/v1/models`, `…/bedrock/foundation-models`. [`MockProviders::base_url`] returns the
//! URL to use as a provider's base URL (the same shape as `Provider::default_base_url`, so
//! `/v1` is included for OpenAI, Mistral and OpenAI-compatible).
//!
//! Behaviour is driven by the credential (see [`keys`]): registered keys succeed, unknown keys
//! get the provider's 401/403, keys containing `ratelimit` get 429, `servererror` 500, and
//! `slowkey` an answer after a delay. Bedrock requests are SigV4-verified against the registered
//! secret access key.
//!
//! Endpoints: each provider's validation call (list models, or Perplexity's async-jobs list);
//! chat, plain and streaming, in every provider's wire format (see `chat.rs`: OpenAI-style
//! `chat/completions` SSE, Anthropic `/v1/messages` events, Gemini `generateContent` /
//! `streamGenerateContent?alt=sse`, Bedrock `converse` / `converse-stream` in AWS event stream
//! frames, Cohere `/v2/chat`); and embeddings (see `embeddings.rs`). What a chat call answers
//! (text, tool call, stop reason, exact usage with cache reads/writes) is decided by
//! `scenario.rs` from the request, so tests can assert exact numbers.
//!
//! Failures can also be switched per key at run time ([`MockProviders::set_failure`]: 429,
//! 500, 401 or a delay) to test failover, and [`MockProviders::request_count_for_key`] counts
//! requests per key for circuit-breaker tests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use keyward_providers::Provider;
//! use keyward_testkit::mock_providers::{KeyKind, MockProviders, fixture_secret};
//!
//! let mock = MockProviders::start().await?;
//! let secret = fixture_secret(Provider::Anthropic, KeyKind::Valid);
//! let base_url = mock.base_url(Provider::Anthropic);
//! // … validate `secret` against `base_url` …
//! assert_eq!(mock.request_count(Provider::Anthropic), 1);
//! mock.stop().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod chat;
mod embeddings;
pub mod keys;
mod routes;
mod scenario;
mod sigv4;
mod state;
mod wire_anthropic;
mod wire_bedrock;
mod wire_cohere;
mod wire_errors;
mod wire_gemini;
mod wire_models;
mod wire_openai;
mod wire_responses;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use keyward_providers::Provider;
use tokio::task::JoinHandle;

pub use embeddings::{EMBEDDING_DIMENSIONS, mock_embedding};
pub use keys::{KeyKind, fixture_aws_secret, fixture_key, fixture_secret};
pub use scenario::{REASONING_TOKENS, REPLY, TOOL_ARGUMENTS, mock_tokens};
pub use state::{Failure, LoggedRequest};

/// The tool call ids the mocks return, per provider (Gemini has none).
pub mod tool_call_ids {
    pub use super::wire_anthropic::TOOL_USE_ID as ANTHROPIC;
    pub use super::wire_bedrock::TOOL_USE_ID as BEDROCK;
    pub use super::wire_cohere::TOOL_CALL_ID as COHERE;
    pub use super::wire_openai::TOOL_CALL_ID as OPENAI;
}

/// An AWS event stream frame as Bedrock sends it (`message_type` `event` or `exception`), for
/// tests that feed decoders by hand.
pub fn bedrock_frame(message_type: &str, name: &str, payload: &serde_json::Value) -> Vec<u8> {
    wire_bedrock::frame(message_type, name, payload)
}

use state::State;

/// A running mock-provider server. Stops on [`MockProviders::stop`] or when dropped.
pub struct MockProviders {
    root: String,
    state: Arc<State>,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl MockProviders {
    /// Binds `127.0.0.1:0`, registers every [`KeyKind`] fixture except `Unknown` as a valid key,
    /// and serves on the current tokio runtime (one worker, no signal handling).
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let root = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::default());
        for provider in Provider::ALL {
            for kind in KeyKind::ALL {
                if kind == KeyKind::Unknown {
                    continue;
                }
                match provider {
                    Provider::Bedrock => {
                        state.register_aws(&fixture_key(provider, kind), &fixture_aws_secret(kind))
                    }
                    _ => state.register_key(provider, &fixture_key(provider, kind)),
                }
            }
        }
        let data = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
                .default_service(web::to(routes::dispatch))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(Self {
            root,
            state,
            handle,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, without a provider prefix.
    pub fn root_url(&self) -> &str {
        &self.root
    }

    /// The base URL to configure for `provider`, e.g. `http://127.0.0.1:PORT/openai/v1` or
    /// `http://127.0.0.1:PORT/anthropic`. For Azure it stands in for the resource endpoint.
    pub fn base_url(&self, provider: Provider) -> String {
        let version = match provider {
            Provider::OpenAi | Provider::Mistral | Provider::OpenAiCompatible => "/v1",
            _ => "",
        };
        format!("{}/{}{version}", self.root, provider.as_str())
    }

    /// A base URL whose every request is answered `307` to the same path under
    /// `base_url(Provider::OpenAi)`'s prefix, for testing that keys never follow redirects.
    pub fn redirecting_base_url(&self) -> String {
        format!("{}/{}/v1", self.root, routes::REDIRECT_PREFIX)
    }

    /// Accepts `key` as a valid API key of `provider` from now on.
    pub fn register_key(&self, provider: Provider, key: &str) {
        self.state.register_key(provider, key);
    }

    /// Accepts Bedrock requests signed with this access key id and secret from now on.
    pub fn register_aws_key(&self, access_key_id: &str, secret_access_key: &str) {
        self.state.register_aws(access_key_id, secret_access_key);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.log()
    }

    /// How many requests `provider` received.
    pub fn request_count(&self, provider: Provider) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.provider == provider)
            .count()
    }

    /// How many requests `provider` received at `path` (provider-side, e.g. `/v1/models`).
    pub fn request_count_at(&self, provider: Provider, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.provider == provider && r.path == path)
            .count()
    }

    /// The last request `provider` received.
    pub fn last_request(&self, provider: Provider) -> Option<LoggedRequest> {
        self.requests()
            .into_iter()
            .rev()
            .find(|r| r.provider == provider)
    }

    /// Forgets the request log and the per-key counters.
    pub fn clear_requests(&self) {
        self.state.clear_log();
    }

    /// Makes every request of `provider` with `credential` (API key, or Bedrock access key id)
    /// fail with `failure` from now on; `None` restores normal answers. Applies before
    /// authentication, so it works for any key.
    pub fn set_failure(&self, provider: Provider, credential: &str, failure: Option<Failure>) {
        self.state.set_failure(provider, credential, failure);
    }

    /// How many requests `provider` received with `credential` (failed ones included).
    pub fn request_count_for_key(&self, provider: Provider, credential: &str) -> usize {
        self.state.count_for(provider, credential)
    }

    /// Waits `delay` before each streamed event (all providers), for slow-stream tests.
    pub fn set_stream_delay(&self, delay: Option<Duration>) {
        self.state.set_stream_delay(delay);
    }

    /// Whether the last request to `provider` carried a registered credential; `None` before
    /// any request.
    pub fn last_auth_matched(&self, provider: Provider) -> Option<bool> {
        self.requests()
            .iter()
            .rev()
            .find(|r| r.provider == provider)
            .map(|r| r.auth_matched)
    }

    /// The provider-side path of `provider`'s validation call (e.g. `/v1/models`).
    pub fn validation_path(provider: Provider) -> &'static str {
        routes::validation_path(provider)
    }

    /// Stops the server and waits until it has.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

impl Drop for MockProviders {
    fn drop(&mut self) {
        // `stop` sends the command immediately; the returned future only awaits completion.
        drop(self.handle.stop(false));
        self.task.abort();
    }
}
