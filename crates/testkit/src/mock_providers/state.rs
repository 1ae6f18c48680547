//! What the mock server knows (registered keys, failure modes, seen cache prefixes) and
//! remembers (the request log, per-key counters).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use keyward_providers::Provider;
use serde_json::Value;

/// One request the mock received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The provider whose prefix the request used.
    pub provider: Provider,
    /// `GET`, `POST`, …
    pub method: String,
    /// The provider-side path, without the mock's prefix or the query (e.g. `/v1/models`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// Whether the request carried a credential registered with the mock (for Bedrock: a
    /// registered access key id with a correct SigV4 signature). The credential itself is never
    /// stored.
    pub auth_matched: bool,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
}

/// A failure the mock applies to every request made with one key (see
/// [`super::MockProviders::set_failure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 in the provider's shape, with `retry-after`.
    RateLimited,
    /// 500 in the provider's shape.
    ServerError,
    /// The provider's 401/403 for a wrong key.
    Unauthorized,
    /// Answer normally, after this delay.
    Delay(Duration),
}

#[derive(Default)]
pub(crate) struct State {
    keys: Mutex<KeyBook>,
    log: Mutex<Vec<LoggedRequest>>,
    failures: Mutex<HashMap<(Provider, String), Failure>>,
    counts: Mutex<HashMap<(Provider, String), usize>>,
    /// Prompt prefixes already cached, per provider (for cache read vs write).
    cached: Mutex<HashSet<(Provider, String)>>,
    stream_delay: Mutex<Option<Duration>>,
}

#[derive(Default)]
struct KeyBook {
    api_keys: HashSet<(Provider, String)>,
    /// AWS access key id → secret access key.
    aws: HashMap<String, String>,
}

/// A poisoned lock only means another handler panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn register_key(&self, provider: Provider, key: &str) {
        lock(&self.keys).api_keys.insert((provider, key.to_owned()));
    }

    pub(crate) fn register_aws(&self, access_key_id: &str, secret_access_key: &str) {
        lock(&self.keys)
            .aws
            .insert(access_key_id.to_owned(), secret_access_key.to_owned());
    }

    pub(crate) fn is_registered(&self, provider: Provider, key: &str) -> bool {
        lock(&self.keys)
            .api_keys
            .contains(&(provider, key.to_owned()))
    }

    pub(crate) fn aws_secret(&self, access_key_id: &str) -> Option<String> {
        lock(&self.keys).aws.get(access_key_id).cloned()
    }

    pub(crate) fn record(&self, request: LoggedRequest) {
        lock(&self.log).push(request);
    }

    pub(crate) fn log(&self) -> Vec<LoggedRequest> {
        lock(&self.log).clone()
    }

    pub(crate) fn clear_log(&self) {
        lock(&self.log).clear();
        lock(&self.counts).clear();
    }

    pub(crate) fn set_failure(
        &self,
        provider: Provider,
        credential: &str,
        failure: Option<Failure>,
    ) {
        let key = (provider, credential.to_owned());
        let mut failures = lock(&self.failures);
        match failure {
            Some(f) => failures.insert(key, f),
            None => failures.remove(&key),
        };
    }

    pub(crate) fn failure(&self, provider: Provider, credential: &str) -> Option<Failure> {
        lock(&self.failures)
            .get(&(provider, credential.to_owned()))
            .copied()
    }

    pub(crate) fn count(&self, provider: Provider, credential: &str) {
        *lock(&self.counts)
            .entry((provider, credential.to_owned()))
            .or_default() += 1;
    }

    pub(crate) fn count_for(&self, provider: Provider, credential: &str) -> usize {
        lock(&self.counts)
            .get(&(provider, credential.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Whether `prefix` was cached before; caches it now either way.
    pub(crate) fn cache_hit(&self, provider: Provider, prefix: &str) -> bool {
        !lock(&self.cached).insert((provider, prefix.to_owned()))
    }

    pub(crate) fn set_stream_delay(&self, delay: Option<Duration>) {
        *lock(&self.stream_delay) = delay;
    }

    pub(crate) fn stream_delay(&self) -> Option<Duration> {
        *lock(&self.stream_delay)
    }
}
