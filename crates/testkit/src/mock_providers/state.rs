//! What the mock server knows (registered keys) and remembers (the request log).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use keyward_providers::Provider;

/// One request the mock received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The provider whose prefix the request used.
    pub provider: Provider,
    /// `GET`, `POST`, …
    pub method: String,
    /// The provider-side path, without the mock's prefix or the query (e.g. `/v1/models`).
    pub path: String,
    /// Whether the request carried a credential registered with the mock (for Bedrock: a
    /// registered access key id with a correct SigV4 signature). The credential itself is never
    /// stored.
    pub auth_matched: bool,
}

#[derive(Default)]
pub(crate) struct State {
    keys: Mutex<KeyBook>,
    log: Mutex<Vec<LoggedRequest>>,
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
}
